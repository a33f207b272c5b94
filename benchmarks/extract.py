"""Extraction speed at 720p: end-to-end frames/s against decode-only frames/s, and where the time goes.

Makes a 1280x720 clip from a real talking-head video in shared/media (upscaled and
pillarboxed), then measures with the same ffmpeg:
  - decode only (ffmpeg -> RGB frames in Python),
  - full extraction (decode, detect, landmarks, align, mask, identity, PNG writes) for
    several settings,
  - per-stage milliseconds per frame on 40 frames.
Prints a table and writes benchmarks/results/extract.json. Goal: >= 25 frames/s on 2 CPU cores.

Run: python benchmarks/extract.py [--seconds 6]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from faceswap.align.warp import align_face, points_to_face
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.faceset.store import FaceSet
from faceswap.media.ffmpeg_tool import ffmpeg_exe
from faceswap.media.image import encode_image
from faceswap.media.video import open_source
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", ROOT.parent / "shared" / "media"))
CLIP = MEDIA / "video" / "young_woman__liveportrait_d10.mp4"
RESULTS = ROOT / "benchmarks" / "results" / "extract.json"

RUNS = {
    "insightface, detect every 5th frame (default)": (ExtractChoice(), 5),
    "insightface, detect every frame": (ExtractChoice(), 1),
    "insightface, no identity, detect every 5th": (ExtractChoice(identity=None), 5),
    "mediapipe (Apache-2.0), detect every 5th": (ExtractChoice("blazeface", "facemesh", ("hull",), None), 5),
    "mediapipe (Apache-2.0), detect every frame": (ExtractChoice("blazeface", "facemesh", ("hull",), None), 1),
}


def make_720p(out: Path, seconds: float) -> Path:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(CLIP), "-t", str(seconds),
                    "-vf", "scale=-2:720,pad=1280:720:(ow-iw)/2:0", "-c:v", "libx264", "-preset", "fast",
                    "-crf", "18", "-an", str(out)], check=True)
    return out


def decode_fps(clip: Path) -> float:
    started = time.perf_counter()
    count = sum(1 for _ in open_source(clip).frames())
    return count / (time.perf_counter() - started)


def extract_fps(clip: Path, registry: Registry, choice: ExtractChoice, redetect: int, work: Path) -> dict:
    plugins = build_extract_plugins(registry, choice, {}, resolve_device("cpu"))
    folder = Path(tempfile.mkdtemp(dir=work))
    summary = extract(clip, FaceSet(folder), plugins, ExtractSettings(redetect_every=redetect))
    return {"frames": summary.frames_read, "faces": summary.faces_written,
            "fps": summary.frames_read / summary.seconds}


def stage_times(clip: Path, registry: Registry, frames_n: int = 40) -> dict[str, float]:
    """Milliseconds per frame of each stage, run one after another on the same frames."""
    device = resolve_device("cpu")
    frames = [f.image for f, _ in zip(open_source(clip).frames(), range(frames_n))]
    plugins = build_extract_plugins(registry, ExtractChoice(), {}, device)
    blaze = registry.create("detector", "blazeface", {}, device)
    mesh = registry.create("landmarker", "facemesh", {}, device)
    times: dict[str, float] = {}

    def timed(name, fn):
        started = time.perf_counter()
        out = fn()
        times[name] = (time.perf_counter() - started) / len(frames) * 1000
        return out

    dets = timed("detect scrfd (640)", lambda: plugins.detector.detect(frames))
    lms = timed("landmarks 2d106", lambda: plugins.landmarker.landmarks(frames, dets))
    flat = [row[0] for row in lms]
    timed("identity arcface", lambda: plugins.identity.embed(frames, flat))
    faces = timed("align 256px", lambda: [align_face(f, lm, 256, 2.2) for f, lm in zip(frames, flat)])
    points = np.stack([points_to_face(lm.points, a.matrix) for lm, a in zip(flat, faces)])
    timed("mask extended", lambda: plugins.mask(np.stack([a.image for a in faces]), points))
    timed("png encode", lambda: [encode_image(a.image) for a in faces])
    timed("detect blazeface", lambda: blaze.detect(frames))
    timed("landmarks facemesh", lambda: mesh.landmarks(frames, dets))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of the 720p test clip")
    args = parser.parse_args()
    registry = Registry.discover()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = make_720p(work / "clip720.mp4", args.seconds)
        info = open_source(clip).info
        decode = decode_fps(clip)
        runs = {name: extract_fps(clip, registry, choice, redetect, work) for name, (choice, redetect) in RUNS.items()}
        stages = stage_times(clip, registry)
    print(f"clip: {CLIP.name} -> {info.width}x{info.height}, {info.frame_count} frames; cores: {os.cpu_count()}")
    print(f"{'decode only':50s} {decode:7.1f} frames/s")
    for name, run in runs.items():
        print(f"{name:50s} {run['fps']:7.1f} frames/s  ({run['fps'] / decode:.0%} of decode; {run['faces']} faces)")
    print("stage costs, ms per frame (one face per frame):")
    for name, ms in stages.items():
        print(f"  {name:30s} {ms:6.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
        "clip": f"{CLIP.name} upscaled to {info.width}x{info.height}", "frames": info.frame_count,
        "decode_fps": decode, "extract": runs, "stage_ms_per_frame": stages, "goal_fps": 25,
    }, indent=2) + "\n")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()

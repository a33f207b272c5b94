"""Merge speed at 720p: frames/s of a full merge against decode + encode alone, same encoder settings.

Makes a 1280x720 clip from a real talking-head video, extracts its face set and trains
a `quick` model for a few steps (speed does not depend on how well it is trained), then
times (a) decoding and re-encoding every frame and (b) the full merge. Goal on 2 CPU
cores: merge >= 50% of decode + encode. Writes benchmarks/results/merge.json.

Run: python benchmarks/merge.py [--seconds 6] [--color rct] [--blender alpha]
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

from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.faceset.store import FaceSet
from faceswap.media.ffmpeg_tool import ffmpeg_exe
from faceswap.media.video import EncodeSettings, VideoWriter, open_source
from faceswap.merge.outputs import VideoOutput
from faceswap.merge.pipeline import Merger, MergeSettings, faces_by_frame, merge
from faceswap.merge.swapper import FaceSwapper
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device
from faceswap.train.loop import TrainSettings
from faceswap.train.session import TrainRequest, run_training
from faceswap.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", ROOT.parent / "shared" / "media"))
CLIP = MEDIA / "video" / "young_woman__liveportrait_d10.mp4"
ENCODE = EncodeSettings(codec="libx264", crf=18, preset="veryfast")


def make_720p(out: Path, seconds: float) -> Path:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(CLIP), "-t", str(seconds),
                    "-vf", "scale=-2:720,pad=1280:720:(ow-iw)/2:0", "-c:v", "libx264", "-preset", "fast",
                    "-crf", "18", "-c:a", "copy", str(out)], check=True)
    return out


def decode_encode_fps(clip: Path, out: Path) -> float:
    source = open_source(clip)
    info = source.info
    started = time.perf_counter()
    writer = VideoWriter(out, info.width, info.height, info.fps, audio_from=clip if info.has_audio else None,
                         settings=ENCODE, times=info.times)
    for frame in source.frames():
        writer.write(frame.image)
    writer.close()
    return info.frame_count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--color", default="rct")
    parser.add_argument("--blender", default="alpha")
    parser.add_argument("--torch-threads", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                        help="torch threads (default: all cores but one, as faceswap merge uses on a CPU)")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.torch_threads)
    registry, cpu = Registry.discover(), resolve_device("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ws = Workspace(work / "ws")
        clip = make_720p(work / "clip720.mp4", args.seconds)
        plugins = build_extract_plugins(registry, ExtractChoice(), {}, cpu)
        for name in ("src", "dst", "clip720"):
            extract(clip, FaceSet(ws.faceset_dir(name)), plugins, ExtractSettings(every=1 if name == "clip720" else 10))
        run_training(TrainRequest(preset="quick", settings=TrainSettings(iters=2), seed=0, preview_every=0,
                                  save_minutes=0, workers=0), ws, registry, cpu)
        baseline = decode_encode_fps(clip, work / "copy.mp4")
        source = open_source(clip)
        swapper = FaceSwapper(ws.model_dir("sae"), registry, cpu)
        merger = Merger(swapper, registry.create("color", args.color, {}, cpu),
                        registry.create("blender", args.blender, {}, cpu), MergeSettings(), float(source.info.fps))
        faces = faces_by_frame(FaceSet(ws.faceset_dir("clip720")))
        summary = merge(source, faces, merger, VideoOutput(work / "merged.mp4", source.info, ENCODE))
    merge_fps = summary.frames / summary.seconds
    print(f"clip: {CLIP.name} -> 1280x720, {summary.frames} frames, {summary.faces_swapped} faces; cores {os.cpu_count()}")
    print(f"decode + encode only ({ENCODE.codec} {ENCODE.preset} crf {ENCODE.crf}): {baseline:.1f} frames/s")
    print(f"merge (quick model, {args.color}, {args.blender}): {merge_fps:.1f} frames/s = {merge_fps / baseline:.0%} "
          f"of decode + encode (goal >= 50%)")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "merge.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
        "clip": f"{CLIP.name} upscaled to 1280x720", "frames": summary.frames, "encoder": vars(ENCODE),
        "decode_encode_fps": baseline, "merge_fps": merge_fps, "ratio": merge_fps / baseline,
        "color": args.color, "blender": args.blender, "torch_threads": args.torch_threads,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()

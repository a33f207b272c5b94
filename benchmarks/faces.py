"""Curation speed on a 5,000-face set: measuring the faces once, then every command on the cached scores.

Builds a set of 5,000 real 256 px faces: the faces of woman_expressions (one person, 1,000 frames)
and of the Lin-Manuel Miranda clip (cuts, a dozen people), then copies of them, each copy on
frames and tracks of its own and its pixels shifted by a grey level or two so it is no
duplicate. Then times (a) measuring every face (decode + scores; goal >= 200 faces/s on 2 cores)
and (b) each command as a user runs it (a new process each: Python start-up and imports
included) once the scores are cached. Writes benchmarks/results/faces.json.

Run: python benchmarks/faces.py [--faces 5000] [--work DIR (kept, reused)]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from faceswap.atomic import write_atomic
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.faceset.schema import record_to_json
from faceswap.faceset.store import FaceSet, face_file_name, read_face
from faceswap.faceset.table import CACHE_NAME, load_table
from faceswap.media.image import encode_image
from faceswap.media.pngmeta import embed_json
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", ROOT.parent / "shared" / "media"))
CLIPS = ("woman_expressions__liveportrait_d6.mp4", "lin_manuel_miranda__white_house_2009.mp4")
FRAME_STRIDE = 10_000       # copy k of a face lives on frame + k * FRAME_STRIDE, track + k * TRACK_STRIDE
TRACK_STRIDE = 1_000


def real_faces(work: Path) -> list[Path]:
    """Extract the clips once (kept in ``work`` for the next run)."""
    registry, cpu = Registry.discover(), resolve_device("cpu")
    plugins = build_extract_plugins(registry, ExtractChoice(), {}, cpu)
    return [path for clip in CLIPS
            for path in extracted_once(MEDIA / "video" / clip, work / "real" / Path(clip).stem, plugins)]


def extracted_once(clip: Path, folder: Path, plugins, settings: ExtractSettings = ExtractSettings()) -> list[Path]:
    """The faces of ``clip`` in ``folder``, extracted unless a complete set is already there."""
    faces = FaceSet(folder)
    if not (faces.exists() and faces.read_manifest().complete):
        extract(clip, faces, plugins, settings)
    return faces.face_paths()


def copied_set(work: Path, sources: list[Path], count: int,
               place: Callable[[int, dict, np.ndarray], np.ndarray]) -> FaceSet:
    """A face set of ``count`` copies of the ``sources`` faces (copy i of face i % len(sources)), kept in
    ``work`` while it holds that many. ``place(i, data, image)`` moves copy i's record JSON ``data`` to its
    frame and track and returns its pixels."""
    faces = FaceSet(work / "ws" / "facesets" / "big")
    if faces.exists() and len(faces) == count:
        return faces
    shutil.rmtree(faces.folder, ignore_errors=True)
    faces.faces_dir.mkdir(parents=True)
    real = [read_face(path) for path in sources]
    for i in range(count):
        image, record = real[i % len(sources)]
        data = record_to_json(record)
        pixels = place(i, data, image)
        name = face_file_name(data["source"]["frame"], data["face_index"])
        write_atomic(faces.faces_dir / name, embed_json(encode_image(pixels, ".png"), data))
    faces.write_manifest(FaceSet(sources[0].parent.parent).read_manifest())
    return faces


def build_set(work: Path, sources: list[Path], count: int) -> FaceSet:
    """A face set of ``count`` faces: the real ones, then shifted copies on frames and tracks of their own."""
    second = _first_of_second(sources)

    def place(i: int, data: dict, image: np.ndarray) -> np.ndarray:
        copy, source = divmod(i, len(sources))
        later_clip = source >= second       # keep the two clips' frames and tracks apart too
        data["source"]["frame"] += copy * FRAME_STRIDE + (FRAME_STRIDE // 2 if later_clip else 0)
        data["track"] += copy * TRACK_STRIDE + (TRACK_STRIDE // 2 if later_clip else 0)
        return image if copy == 0 else np.clip(image.astype(np.int16) + copy, 0, 255).astype(np.uint8)

    return copied_set(work, sources, count, place)


def _first_of_second(sources: list[Path]) -> int:
    """Index of the first face of the second clip (its frames and tracks are moved apart from the first's)."""
    first = sources[0].parent
    return next((i for i, p in enumerate(sources) if p.parent != first), len(sources))


def time_command(workspace: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "faceswap", "--workspace", str(workspace), "--device", "cpu", *args],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=5000)
    parser.add_argument("--work", type=Path, help="Folder to build in and keep (default: a temporary one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        faces = build_set(work, real_faces(work), args.faces)
        ws = work / "ws"
        shutil.rmtree(faces.folder / "rejected", ignore_errors=True)
        (faces.folder / CACHE_NAME).unlink(missing_ok=True)
        (faces.folder / "people.json").unlink(missing_ok=True)
        load_before = os.getloadavg()[0]
        started, cpu_started = time.perf_counter(), time.process_time()
        table = load_table(faces, workers=os.cpu_count() or 2)
        measure_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        rate = len(table) / measure_s
        # CPU time counts every measuring thread; on a shared machine it says what one free core would do
        cpu_rate = len(table) / cpu_s
        print(f"{len(table)} faces of 256 px measured in {measure_s:.1f} s: {rate:.0f} faces/s "
              f"({os.cpu_count()} cores, load average {load_before:.1f}; goal >= 200); {cpu_s:.1f} CPU s, "
              f"{cpu_rate:.0f} faces per CPU second (one free core)")
        commands = {
            "people (first: clusters the tracks)": ("people", "big"),
            "people (again)": ("people", "big"),
            "people name": ("people", "name", "big", "person-1", "alice"),
            "faces sort --by blur": ("faces", "sort", "big", "--by", "blur"),
            "faces sort --by yaw": ("faces", "sort", "big", "--by", "yaw"),
            "faces sort --by identity": ("faces", "sort", "big", "--by", "identity"),
            "faces sort --by score": ("faces", "sort", "big", "--by", "score"),
            "faces clean --dry-run": ("faces", "clean", "big", "--dry-run"),
            "faces coverage (alice vs all)": ("faces", "coverage", "--src", "big:alice", "--dst", "big"),
            "faces clean": ("faces", "clean", "big"),
            "faces restore": ("faces", "restore", "big"),
            "faces --help (start-up and imports alone)": ("faces", "--help"),
        }
        seconds = {what: time_command(ws, *argv) for what, argv in commands.items()}
    for what, value in seconds.items():
        print(f"{what:<45} {value:5.2f} s")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "faces.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
        "load_average_before": load_before, "faces": len(table), "face_size": 256, "clips": list(CLIPS),
        "measure_seconds": measure_s, "measure_faces_per_second": rate, "measure_cpu_seconds": cpu_s,
        "measure_faces_per_cpu_second": cpu_rate, "command_seconds": seconds,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Cost of the quality score at 720p: standalone `score`, and the report merge writes.

Makes the 1280x720 clip of benchmarks/merge.py, extracts it, trains a `quick` model a few
steps, then times (a) merge without the report, (b) merge with the live report plus writing
it (identity of the face sets cached, as on any run after the first), alternately, 3 times
each, and (c) standalone scoring of the merged video against the clip. Goals on 2 CPU
cores: the report adds <= 15% to a merge at the default sampling; `score` takes well under
a minute per minute of 720p video. Writes benchmarks/results/score.json.

Run: python benchmarks/score.py [--seconds 12]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
from merge import ENCODE, make_720p

from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.faceset.store import FaceSet
from faceswap.media.video import open_source
from faceswap.merge.outputs import VideoOutput
from faceswap.merge.pipeline import Merger, MergeSettings, faces_by_frame, merge
from faceswap.merge.swapper import FaceSwapper
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device
from faceswap.score.collect import Sampling, default_every
from faceswap.score.report import ScoreContext
from faceswap.score.run import LiveScoring, boxes_by_frame, build_tools, finish_report, score_sources
from faceswap.score.scorer import RunScorer
from faceswap.train.loop import TrainSettings
from faceswap.train.session import TrainRequest, run_training
from faceswap.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
REPORT_SECONDS: list[float] = []      # time after the merge itself: scoring left over + writing the report


def timed_merge(ws: Workspace, clip: Path, out: Path, registry, cpu, tools=None) -> float:
    """Seconds of one merge of ``clip`` (with the live report and its writing when ``tools``)."""
    started = time.perf_counter()
    source = open_source(clip)
    merger = Merger(FaceSwapper(ws.model_dir("sae"), registry, cpu), registry.create("color", "rct", {}, cpu),
                    registry.create("blender", "alpha", {}, cpu), MergeSettings(), float(source.info.fps))
    faceset = FaceSet(ws.faceset_dir("clip720"))
    scoring = None
    if tools is not None:
        scoring = LiveScoring(RunScorer(tools.landmarker, tools.embedder), Sampling(default_every(float(source.info.fps))))
    merge(source, faces_by_frame(faceset), merger, VideoOutput(out, source.info, ENCODE),
          on_written=scoring.written if scoring else None)
    if scoring is not None:
        merged = time.perf_counter()
        context = ScoreContext(str(clip), str(out), source.info.frame_count, scoring.collector.sampling.every, 3,
                               ("src",), "clip720")
        finish_report(ws, tools, scoring.finish(), context, faceset, out.with_suffix(".report"))
        REPORT_SECONDS.append(time.perf_counter() - merged)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3, help="merges of each kind, alternating (the fastest counts)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))     # as faceswap merge and score do on a CPU
    registry, cpu = Registry.discover(), resolve_device("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ws = Workspace(work / "ws")
        clip = make_720p(work / "clip720.mp4", args.seconds)
        plugins = build_extract_plugins(registry, ExtractChoice(), {}, cpu)
        for name in ("src", "clip720"):
            extract(clip, FaceSet(ws.faceset_dir(name)), plugins, ExtractSettings(every=1 if name == "clip720" else 10))
        run_training(TrainRequest(preset="quick", dst=("clip720",), settings=TrainSettings(iters=2), seed=0,
                                  preview_every=0, save_minutes=0, workers=0), ws, registry, cpu)
        tools = build_tools(registry, cpu)
        timed_merge(ws, clip, work / "warm.mp4", registry, cpu, tools)          # caches face set identities
        plain, scored = [], []
        for round_ in range(args.rounds):
            plain.append(timed_merge(ws, clip, work / f"plain{round_}.mp4", registry, cpu))
            scored.append(timed_merge(ws, clip, work / f"scored{round_}.mp4", registry, cpu, tools))
        source = open_source(clip)
        sampling = Sampling(default_every(float(source.info.fps)))
        started = time.perf_counter()
        faces = score_sources(source, open_source(work / "plain0.mp4"),
                              boxes_by_frame(FaceSet(ws.faceset_dir("clip720"))),
                              RunScorer(tools.landmarker, tools.embedder), sampling)
        standalone = time.perf_counter() - started
        frames, fps = source.info.frame_count, float(source.info.fps)
    overhead = min(scored) / min(plain) - 1
    per_minute = standalone / (frames / fps) * 60
    print(f"720p clip, {frames} frames at {fps:g} fps; report samples a run of 3 frames every {sampling.every}")
    print(f"merge without report {min(plain):.1f} s, with report {min(scored):.1f} s: +{overhead:.0%} (goal <= 15%); "
          f"after the last frame: {min(REPORT_SECONDS):.2f} s")
    print(f"standalone score: {standalone:.1f} s for {len(faces)} faces = {per_minute:.1f} s per minute of video")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "score.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
        "frames": frames, "fps": fps, "every": sampling.every, "merge_seconds": plain, "merge_report_seconds": scored,
        "report_overhead": overhead, "report_tail_seconds": REPORT_SECONDS, "score_seconds": standalone, "score_seconds_per_video_minute": per_minute,
        "faces_scored": len(faces),
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()

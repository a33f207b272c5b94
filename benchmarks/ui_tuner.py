"""Merge tuner latency: python benchmarks/ui_tuner.py WORKSPACE VIDEO [MODEL] (the video's face set and a
trained model must be in WORKSPACE). Prints ms per preview and writes benchmarks/results/ui_tuner.json."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from faceswap.cli.context import AppContext
from faceswap.merge.session import PasteStyle
from faceswap.ui.tuner import PreviewRequest, Tuner
from faceswap.workspace import Workspace


def main(workspace: str, video: str, model: str = "sae") -> None:
    torch.set_num_threads(2)
    tuner = Tuner(AppContext(Workspace(Path(workspace)), device_choice="cpu", threads=2))

    def ms(index: int, style: PasteStyle) -> float:
        start = time.perf_counter()
        tuner.preview(PreviewRequest(Path(video), index, model, style))
        return round((time.perf_counter() - start) * 1000, 1)

    frames = tuner.info(Path(video))["frames"]
    figures = {"first_ms": ms(0, PasteStyle()), "info": tuner.info(Path(video)),
               "new_frame_ms": [ms(i, PasteStyle()) for i in range(1, frames, max(1, frames // 4))],
               "setting_change_ms": {str(s): ms(frames - 1, s) for s in (
                   PasteStyle(erode=0.05), PasteStyle(color="lct"), PasteStyle(blender="seamless"),
                   PasteStyle(blender="laplacian"), PasteStyle(color="mkl", blur=0.1))}}
    print(json.dumps(figures, indent=1))
    out = Path(__file__).parent / "results" / "ui_tuner.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])

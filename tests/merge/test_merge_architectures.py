"""Merge and the ONNX export with SAE's architecture knobs: a liae model whose decoder works at
half resolution (double_res) from an encoder that sees half the pixels (half_input)."""
from __future__ import annotations

import numpy as np
import pytest

from cliruns import run_cli
from faceswap.media.image import read_image
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import TINY, tiny_request

KNOBS = {**TINY, "resolution": 64, "archi": "liae", "pixel_norm": "true", "double_res": "true",
         "half_input": "true"}


@pytest.mark.slow
def test_liae_double_res_model_merges_and_exports_to_onnx(model_ws, talking_frames, tmp_path, registry, cpu):
    run_training(tiny_request(2, name="knobs", model_options=KNOBS), Workspace(model_ws), registry, cpu)
    exported = run_cli(model_ws, "export", "knobs", "--onnx")
    assert exported.exit_code == 0, exported.output
    frames = {}
    for engine in ("torch", "onnx"):
        out = tmp_path / engine
        result = run_cli(model_ws, "merge", str(talking_frames), "--model", "knobs", "--frames-out", str(out),
                         "--engine", engine, "--no-report", "--no-smooth")
        assert result.exit_code == 0, result.output
        frames[engine] = [read_image(p).astype(int) for p in sorted(out.glob("*.png"))[:5]]
    assert len(frames["torch"]) == 5
    assert max(np.abs(a - b).max() for a, b in zip(frames["torch"], frames["onnx"])) <= 2

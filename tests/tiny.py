"""A tiny SAE configuration for fast training tests."""
from __future__ import annotations

from faceswap.train.loop import TrainSettings
from faceswap.train.session import TrainRequest

# on quick's architecture (64 px, no double_res/half_input; a new model's default preset is quick128)
TINY = {"resolution": 64, "ae_dims": 32, "e_dims": 8, "d_dims": 8, "d_mask_dims": 4}


def tiny_request(iters: int, **overrides) -> TrainRequest:
    values = dict(preset="quick", model_options=dict(TINY), settings=TrainSettings(batch=4, lr=1e-3, iters=iters),
                  seed=7, preview_every=0, save_minutes=0, workers=0)
    values.update(overrides)
    return TrainRequest(**values)


def tiny_cli_options() -> list[str]:
    """The tiny model as ``--preset quick -O model.KEY=VALUE`` command-line arguments."""
    return ["--preset", "quick", *(arg for key, value in TINY.items() for arg in ("-O", f"model.{key}={value}"))]

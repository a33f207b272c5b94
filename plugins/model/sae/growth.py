"""Start a double-resolution SAE from a prior of half its resolution (e.g. 128 px from the quick prior).

A model with double_res and half_input at 2R has the layers of an R px model plus a sub-pixel
output layer and one more mask upscale; the prior's weights go where they fit, and its last
layers are mapped so that the new model starts out drawing exactly the prior's faces and
masks, upscaled nearest-neighbour. Training then only has to learn the finer detail.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from faceswap.options import describe, options_to_dict

NEGATIVE_SLOPE = 0.1    # of the LeakyReLU in an Upscale: leaky(a) - leaky(-a) = (1 + slope) a


def grows_into(options_cls: type, prior: Mapping[str, Any], options: Any) -> bool:
    """Whether ``prior`` (its recorded options) is the half-resolution model of ``options``."""
    wanted = options_to_dict(options)
    if prior.get("double_res") or prior.get("half_input") or not (wanted["double_res"] and wanted["half_input"]):
        return False
    grown = {**prior, "resolution": prior["resolution"] * 2, "double_res": True, "half_input": True}
    return all(grown.get(row.name) == wanted[row.name] for row in describe(options_cls) if row.spec.locked)


def grown_weights(state: Mapping[str, torch.Tensor], prior: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The new model's ``state`` with the prior's weights in it (face.6 / mask.3 mapped, mask.4 set)."""
    out = dict(state)
    for key, value in prior.items():
        value = value.to(torch.float32)
        head, _, leaf = key.rpartition(".")
        if head.endswith("face.6"):
            _face_output(out, head, leaf, value)
        elif head.endswith("mask.3"):
            _mask_output(out, head[:-len("3")], leaf, value)
        else:
            out[key] = value.to(state[key].dtype).reshape(state[key].shape)
    return out


def _face_output(out: dict[str, torch.Tensor], head: str, leaf: str, value: torch.Tensor) -> None:
    """The prior's 1x1 rgb conv as a 3x3 sub-pixel conv whose 4 sub-pixels all repeat it."""
    key = f"{head}.0.{leaf}"
    if leaf == "bias":
        out[key] = value.repeat_interleave(4)
        return
    weight = torch.zeros_like(out[key])
    weight[:, :, 1, 1] = value[:, :, 0, 0].repeat_interleave(4, dim=0)
    out[key] = weight


def _mask_output(out: dict[str, torch.Tensor], mask: str, leaf: str, value: torch.Tensor) -> None:
    """The prior's 1x1 mask conv, carried through the new Upscale (channels 0 and 1 hold + and - of
    it, all 4 sub-pixels alike) and recombined by the new 1x1 conv: exact through the LeakyReLU."""
    up = f"{mask}3.0.{leaf}"
    if leaf == "bias":
        bias = out[up].clone()
        bias[:4], bias[4:8] = value, -value
        out[up] = bias
        out[f"{mask}4.bias"] = torch.zeros_like(out[f"{mask}4.bias"])
        return
    weight = out[up].clone()
    weight[:8] = 0
    weight[:4, :, 1, 1] = value[0, :, 0, 0]
    weight[4:8, :, 1, 1] = -value[0, :, 0, 0]
    out[up] = weight
    last = torch.zeros_like(out[f"{mask}4.weight"])
    last[0, 0], last[0, 1] = 1 / (1 + NEGATIVE_SLOPE), -1 / (1 + NEGATIVE_SLOPE)
    out[f"{mask}4.weight"] = last

"""Latent-space operations: interpolation for morphing, attribute vectors and their files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load, save

from faceswap.atomic import write_atomic
from faceswap.errors import InputError, ModelError

INTERPOLATIONS = ("linear", "spherical")


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, mode: str = "spherical") -> torch.Tensor:
    """``(steps, *shape)`` codes from ``a`` to ``b`` (same shape: a vector, or an SAE's code map),
    endpoints included.

    Spherical interpolation keeps the code's norm, which suits Gaussian latents: a straight
    line between two typical codes passes through atypically short ones.
    """
    shape = a.shape
    a, b = a.flatten(), b.flatten()
    return _interpolate_flat(a, b, steps, mode).view(steps, *shape)


def _interpolate_flat(a: torch.Tensor, b: torch.Tensor, steps: int, mode: str) -> torch.Tensor:
    t = torch.linspace(0, 1, steps, dtype=a.dtype, device=a.device)[:, None]
    if mode == "linear":
        return (1 - t) * a + t * b
    if mode != "spherical":
        raise InputError(f"unknown interpolation '{mode}': use one of {', '.join(INTERPOLATIONS)}")
    a_unit, b_unit = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_unit * b_unit).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def attribute_vector(with_codes: torch.Tensor, without_codes: torch.Tensor) -> torch.Tensor:
    """Mean code of faces with the attribute minus the mean of faces without it."""
    return with_codes.mean(0) - without_codes.mean(0)


def save_attribute(path: Path, vector: torch.Tensor, model_name: str, counts: tuple[int, int]) -> None:
    meta = {"model": model_name, "with": str(counts[0]), "without": str(counts[1]), "dims": str(vector.numel())}
    write_atomic(path, save({"vector": vector.detach().cpu().contiguous()}, metadata=meta))


def read_attribute(path: Path) -> tuple[torch.Tensor, str | None]:
    """(vector, name of the model it was made with) from an attribute file; one-line errors."""
    if not path.is_file():
        raise InputError(f"no attribute vector at {path} (make one with faceswap attribute --with --without --name)")
    data = path.read_bytes()
    try:
        vector = load(data)["vector"]
        header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    except Exception as exc:  # any malformed file is the user's to fix, in one line
        raise ModelError(f"{path} is not an attribute vector file ({exc})") from exc
    return vector, header.get("__metadata__", {}).get("model")


def check_attribute(vector: torch.Tensor, made_for: str | None, model_name: str, dims: int, name: str) -> None:
    """Refuse a vector made for another model or latent size."""
    if vector.numel() != dims or made_for not in (None, model_name):
        raise ModelError(f"attribute '{name}' was made for model '{made_for}' ({vector.numel()} dims); "
                         f"this model '{model_name}' has {dims}")


def encode_in_batches(model, crops: list[np.ndarray], device: torch.device, batch: int = 64) -> torch.Tensor:
    """Codes of any number of crops, ``batch`` at a time so a big folder fits in memory."""
    return torch.cat([model.encode(to_tensor(crops[i:i + batch], device)).code for i in range(0, len(crops), batch)])


def decode_in_batches(model, codes: torch.Tensor, decoder: int, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """(rgb, mask) of any number of codes, decoded ``batch`` at a time (results kept on the CPU)."""
    parts = [model.decode(codes[i:i + batch], decoder) for i in range(0, len(codes), batch)]
    return torch.cat([rgb.cpu() for rgb, _ in parts]), torch.cat([mask.cpu() for _, mask in parts])


def to_images(rgb: torch.Tensor) -> list[np.ndarray]:
    """(N, 3, R, R) in [0, 1] -> list of (R, R, 3) uint8."""
    array = rgb.clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return list(array)


def to_tensor(crops: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """list of (R, R, 3) uint8 -> (N, 3, R, R) float in [0, 1]."""
    return torch.from_numpy(np.stack(crops)).to(device).permute(0, 3, 1, 2).float() / 255.0

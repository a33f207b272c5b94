"""``--device auto|cpu|cuda`` -> what torch and onnxruntime should use.

onnxruntime-gpu lists CUDA among its providers even on a machine without a GPU and
falls back to the CPU silently, so the providers a session really got are checked
after it is made (``check_session``), never guessed from ``get_available_providers``.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from typing import Any

from faceswap.errors import InputError

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Device:
    """The resolved device. ``name`` is 'cpu' or 'cuda'."""

    name: str
    threads: int = 0          # 0 = let the runtime decide

    @property
    def is_cuda(self) -> bool:
        return self.name == "cuda"

    @property
    def ort_providers(self) -> list[str]:
        if self.is_cuda:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]

    @property
    def torch_device(self) -> str:
        return "cuda" if self.is_cuda else "cpu"


def resolve_device(choice: str = "auto", threads: int = 0) -> Device:
    """Pick the device for ``choice``; 'cuda' without a usable GPU is an InputError."""
    if choice not in DEVICE_CHOICES:
        raise InputError(f"unknown device '{choice}': use one of {', '.join(DEVICE_CHOICES)}")
    if choice == "cpu":
        return Device("cpu", threads)
    has_gpu = _cuda_visible()
    if choice == "cuda" and not has_gpu:
        raise InputError("--device cuda was asked for, but no CUDA GPU is visible; use --device cpu")
    return Device("cuda" if has_gpu else "cpu", threads)


def limit_threads(threads: int) -> None:
    """Cap the CPU threads of torch and OpenCV (onnxruntime sessions take ``Device.threads``)."""
    if threads <= 0:
        return
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def _cuda_visible() -> bool:
    """True when a CUDA GPU is present (torch asked only if it is installed)."""
    try:
        import torch
    except ImportError:
        return shutil.which("nvidia-smi") is not None
    return bool(torch.cuda.is_available())


def ort_session(model_path: str, device: Device) -> Any:
    """An onnxruntime session on ``device``, with the providers checked."""
    ort = import_onnxruntime()
    opts = ort.SessionOptions()
    if device.threads:
        opts.intra_op_num_threads = device.threads
    opts.log_severity_level = 3     # the CUDA fallback is reported by check_session instead
    # Spinning worker threads would steal the cores that decoding and PNG writing run on.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model_path, sess_options=opts, providers=device.ort_providers)
    check_session(session, device)
    return session


def check_session(session: Any, device: Device) -> None:
    """Log a warning when a CUDA session silently fell back to the CPU."""
    if device.is_cuda and "CUDAExecutionProvider" not in session.get_providers():
        log.warning(
            "onnxruntime fell back to the CPU: install onnxruntime-gpu with its CUDA libraries "
            "(see GPU in the README)"
        )


def import_onnxruntime() -> Any:
    """Import onnxruntime, turning the broken half-uninstalled state into a clear error."""
    import onnxruntime

    if not hasattr(onnxruntime, "InferenceSession"):
        raise InputError(
            "onnxruntime is broken (onnxruntime and onnxruntime-gpu were both installed, then one "
            "removed): run 'pip uninstall -y onnxruntime onnxruntime-gpu' and reinstall one of them"
        )
    return onnxruntime

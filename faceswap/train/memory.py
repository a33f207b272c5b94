"""Out-of-memory errors during training: recognise them and give the memory back.

CUDA raises ``torch.OutOfMemoryError``; the CPU allocator raises a plain RuntimeError
("DefaultCPUAllocator: can't allocate memory", or oneDNN's "could not create a primitive"
inside a convolution), which a process meets under a memory limit
(ulimit -v, a container's limit without swap); without one, Linux's out-of-memory killer
ends the process instead and nothing can be caught.
"""
from __future__ import annotations

import gc

import torch

_MESSAGES = ("DefaultCPUAllocator: can't allocate memory", "CUDA out of memory", "CUDA error: out of memory",
             "CUBLAS_STATUS_ALLOC_FAILED",
             # oneDNN (CPU convolutions) says only this when it cannot allocate a primitive's memory; it
             # could in principle mean another failure, which then fails again at batch 1 and stops
             "could not create a primitive")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocation failure of torch on any device (or Python's MemoryError)."""
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in _MESSAGES)


def free_memory(device: torch.device, *optimizers: torch.optim.Optimizer | None) -> None:
    """Drop the gradients and give cached memory back (call it outside the ``except`` block, whose
    exception still holds the failed step's frames and tensors)."""
    for optimizer in optimizers:
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()

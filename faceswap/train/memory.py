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

# oneDNN (CPU convolutions) says only this when it cannot allocate a primitive's memory; it could in
# principle mean another failure, which then fails again at batch 1 and stops. It builds a kernel's code
# the first time it meets a shape; when that code's allocation fails, its assembler keeps the error in a
# per-thread variable and that thread can build no kernel again, however much memory is free later:
# the work must go on in another thread
_SPOILS_THREAD = "could not create a primitive"
_MESSAGES = ("DefaultCPUAllocator: can't allocate memory", "CUDA out of memory", "CUDA error: out of memory",
             "CUBLAS_STATUS_ALLOC_FAILED", _SPOILS_THREAD)


def spoils_thread(exc: BaseException) -> bool:
    """True for an out-of-memory error after which this thread can run no new CPU convolution."""
    return isinstance(exc, RuntimeError) and _SPOILS_THREAD in str(exc)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocation failure of torch on any device (or Python's MemoryError)."""
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in _MESSAGES)


class BackwardDrain:
    """Empties the autograd engine's CPU queue after a backward pass that failed part-way.

    A CPU backward runs in the calling thread from a queue that lives as long as the thread. When
    one of its ops fails (out of memory), the tasks still queued stay there, each holding its part
    of the failed step's graph and activations (pytorch#82218), and a step at half the batch then
    fails as well. The queue runs the newest graph nodes first; a backward through a node older
    than any step's takes every leftover out before it (those of a finished backward are dropped).
    Make it in the thread that trains, before the first step.
    """

    def __init__(self) -> None:
        self._leaf = torch.zeros((), requires_grad=True)
        self._root = self._leaf * 1.0       # the oldest node of this thread's training

    def __call__(self) -> None:
        torch.autograd.grad(self._root, self._leaf, retain_graph=True)


def free_memory(device: torch.device, *optimizers: torch.optim.Optimizer | None,
                drain: BackwardDrain | None = None) -> None:
    """Drop the gradients, what a failed backward left queued (``drain``) and cached memory (call
    it outside the ``except`` block, whose exception still holds the failed step's frames and tensors)."""
    for optimizer in optimizers:
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
    if drain is not None:
        drain()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()

"""``--batch auto``: the batch a training run uses when the user leaves it to the device.

On CUDA it is measured: real steps (forward, backward, optimiser step) of the real model
and losses, on copies of a few real samples, at growing batch sizes until one runs out of
memory, a bisection between the last that fitted and the first that did not, then a margin
for fragmentation over a long run. Everything a step changes is put back afterwards
(weights, buffers, optimiser states, the torch random generators), so a run that probed
trains exactly like one given that batch (and resumes as exactly).

On a CPU memory is rarely the limit and a probe would take minutes, so the batch follows
the model's resolution: 8 faces per side at 64 px (the quick preset, where a step takes
about 0.7 s on 2 cores), fewer for larger faces so a step stays in seconds (8 x (64/R)^2,
at least 2: the full preset's 256 px gets 2).
"""
from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import default_collate

from faceswap.errors import DeviceError
from faceswap.train.losses import LossConfig
from faceswap.train.loop import TrainingRun, forward_backward, update
from faceswap.train.memory import BackwardDrain, free_memory, is_out_of_memory
from faceswap.train.step import to_device

log = logging.getLogger(__name__)

AUTO_BATCH_MAX = 256        # the probe stops growing here
MARGIN = 0.1                # kept free below the largest batch that ran, once a larger one did not
BISECTIONS = 3              # probes between the last fit and the first failure (1/8 of the gap left)
CPU_BATCH_AT_64 = 8
PROBE_SAMPLES = 4           # real samples, repeated to fill a probe's batch


@dataclass(frozen=True)
class BatchChoice:
    batch: int
    why: str                # one line for the user


def cpu_batch(resolution: int) -> BatchChoice:
    """The batch ``--batch auto`` picks on a CPU for a model of ``resolution`` px."""
    batch = max(2, int(CPU_BATCH_AT_64 * (64 / resolution) ** 2))
    return BatchChoice(batch, f"batch auto on cpu: {batch} (8 x (64/{resolution})^2, at least 2: the step stays "
                              f"short; memory is not what limits a CPU)")


def choose_batch(run: TrainingRun, dataset: Any, loss: LossConfig, resolution: int, world: int = 1) -> BatchChoice:
    """--batch auto: measured on CUDA (under torchrun every rank takes the smallest of all ranks'
    batches), by the faces' size on a CPU. Call it before wrapping the step in DistributedDataParallel."""
    if run.device.type != "cuda":
        return cpu_batch(resolution)
    choice = probe_batch(run, tiled_samples(dataset, run.device), probe_step(loss))
    if world > 1:
        import torch.distributed as dist

        smallest = torch.tensor([choice.batch], device=run.device)
        dist.all_reduce(smallest, op=dist.ReduceOp.MIN)
        choice = BatchChoice(int(smallest.item()), f"{choice.why}; {int(smallest.item())} on every rank")
    return choice


def probe_batch(run: TrainingRun, sample_batch: Callable[[int], Any], step: int,
                limit: int = AUTO_BATCH_MAX) -> BatchChoice:
    """The largest batch (up to ``limit``) whose training step fits, less MARGIN when one did not.

    ``sample_batch(n)``: a batch of ``n`` items; ``step``: an iteration at which every loss term
    of the run is active (the probe measures the heaviest step).
    """
    tried: list[tuple[int, bool]] = []
    drain = BackwardDrain()

    def fits(size: int) -> bool:
        ok = _step_fits(run, sample_batch(size), step, drain)
        tried.append((size, ok))
        return ok

    with kept_state(run):
        if not fits(1):
            raise DeviceError(f"out of memory even at batch 1 on {run.device.type}: the model does not fit this "
                              f"device; train a smaller model (e.g. --preset quick) or use a device with more memory")
        low, high = 1, None
        while low < limit:
            size = min(low * 2, limit)
            if not fits(size):
                high = size
                break
            low = size
        for _ in range(BISECTIONS):
            if high is None or high - low <= max(1, low // 8):
                break
            middle = (low + high) // 2
            low, high = (middle, high) if fits(middle) else (low, middle)
    batch = low if high is None else max(1, int(low * (1 - MARGIN)))
    sizes = ", ".join(f"{size}{'' if ok else ' (out of memory)'}" for size, ok in tried)
    why = f"batch auto on {run.device.type}: {batch} (tried {sizes}" + \
          (f"; {low} fitted, less {MARGIN:.0%} margin)" if high is not None else f"; capped at {limit})")
    log.info(why)
    return BatchChoice(batch, why)


def probe_step(config: LossConfig) -> int:
    """The first iteration at which every loss term the config asks for is computed."""
    step = config.gan_start if config.gan_weight > 0 else 0
    every = [n for n, on in ((config.lpips_every, config.lpips_weight > 0),
                             (config.identity_every, config.identity_weight > 0)) if on]
    period = math.lcm(*every) if every else 1
    return -(-step // period) * period


def tiled_samples(dataset: Any, device: torch.device, count: int = PROBE_SAMPLES) -> Callable[[int], Any]:
    """``n -> batch``: the dataset's first ``count`` items repeated to ``n``, on ``device``.

    Read through a copy of the dataset, so the original's face cache (sent to loader workers)
    stays untouched; items depend only on (seed, index), so reading them changes no random stream.
    """
    reader = copy.copy(dataset)
    items = to_device(default_collate([reader[i] for i in range(count)]), device)

    def batch(size: int) -> Any:
        index = torch.arange(size, device=device) % count
        return {side: {key: value[index] for key, value in data.items()} for side, data in items.items()}
    return batch


def _step_fits(run: TrainingRun, batch: Any, step: int, drain: BackwardDrain) -> bool:
    # scale 1: gradients rarely overflow, so the optimiser really steps and its state takes its memory
    # (at the usual 65536 the first steps are skipped as inf and the probe would miss the moments)
    scaler = torch.amp.GradScaler("cuda", init_scale=1.0, enabled=run.settings.amp and run.device.type == "cuda")
    try:
        forward_backward(run, batch, scaler, step)
        update(run, scaler, step)
        if run.device.type == "cuda":
            torch.cuda.synchronize()        # an asynchronous failure surfaces here, not later
        fitted = True
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        fitted = False
    del batch
    # outside the except: its frames are gone
    free_memory(run.device, run.optimizer, run.adversary_optimizer, drain=drain)
    return fitted


@contextmanager
def kept_state(run: TrainingRun) -> Iterator[None]:
    """Put back, on exit, everything a training step changes: weights and buffers of the model and
    the discriminators, their optimisers' states, and the torch random generators (CPU and CUDA).
    Copies are kept on the CPU, so the probe measures the device's memory as training will use it."""
    modules = [(m, _cpu_copy(m.state_dict())) for m in (run.model, run.adversary) if m is not None]
    optimizers = [(o, _cpu_copy(o.state_dict())) for o in (run.optimizer, run.adversary_optimizer) if o is not None]
    rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    mode = run.step_module.training
    try:
        yield
    finally:
        with torch.no_grad():
            for module, state in modules:
                module.load_state_dict(state)           # copies in place: the optimisers keep their parameters
        for optimizer, state in optimizers:
            optimizer.load_state_dict(state)
            optimizer.zero_grad(set_to_none=True)
        torch.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        run.step_module.train(mode)


def _cpu_copy(value: Any) -> Any:
    """A deep copy with every tensor copied to the CPU."""
    if torch.is_tensor(value):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _cpu_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cpu_copy(v) for v in value]
    return copy.deepcopy(value)

"""How many CPU threads and data-loader processes a training run should use on the cores it has.

Rule: the network's threads take every core on 1-2 cores and all but one from 3 cores on
(that one is the loader's); one loader process from 2 cores on (on 1 core samples are made
between steps), up to 4 beside a CUDA GPU, which eats samples fast. Measured on 2 shared,
busy cores with the quick preset (benchmarks/train_fit.py, benchmarks/results/train_fit.json):
making samples costs ~2% of a step, and a loader process gave 1.36-1.46x the samples/s of
loading in the training process (it overlaps, and keeps its own share of busy cores).
Thread counts are not chosen from the load, since results differ in the last bits between
counts and a resume must match; a busy machine gets a hint instead (busy_load).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

CUDA_WORKERS_MAX = 4


@dataclass(frozen=True)
class CorePlan:
    cores: int              # cores this process may run on (never "asked")
    threads: int            # torch intra-op threads of the training process
    workers: int            # data-loader processes (0: samples made in the training process)
    chosen: tuple[str, ...] = ("cores", "threads", "workers")   # what was chosen here, not asked for

    def describe(self, device: str) -> str:
        def say(name: str, value: int, unit: str) -> str:
            return f"{value} {unit}{'' if value == 1 else 's'}" + ("" if name in self.chosen else " (asked)")
        return (f"{device}: {say('cores', self.cores, 'core')} -> {say('threads', self.threads, 'torch thread')}, "
                f"{say('workers', self.workers, 'loader worker')}")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity: taskset, cgroup cpusets), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):       # not on Linux
        return max(1, os.cpu_count() or 1)


def asked_threads(cli_threads: int) -> int:
    """Threads the user asked for: --threads, else OMP_NUM_THREADS from the environment, else 0 (none)."""
    if cli_threads > 0:
        return cli_threads
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:
        return 0


def plan_training(cores: int, cuda: bool, threads: int = 0, workers: int | None = None) -> CorePlan:
    """Threads and loader workers for ``cores``; ``threads`` > 0 and ``workers`` not None are kept as asked."""
    if cuda:
        auto_workers = min(CUDA_WORKERS_MAX, max(1, cores - 1))
        auto_threads = max(1, cores - auto_workers)
    elif cores > 2:
        auto_workers, auto_threads = 1, cores - 1
    else:
        auto_workers, auto_threads = cores - 1, cores
    chosen = ("cores", *(name for name, asked in (("threads", threads > 0), ("workers", workers is not None))
                         if not asked))
    return CorePlan(cores, threads if threads > 0 else auto_threads,
                    workers if workers is not None else auto_workers, chosen)


def busy_load(cores: int) -> float:
    """The 1-minute load average when other work already fills ``cores`` (else 0).

    Measured on 2 shared cores at a load of 7-10: 2 torch threads trained at 0.18x the samples/s of 1
    (benchmarks/results/train_fit.json), as each parallel region waits for its descheduled thread.
    """
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 0.0
    return load if load >= cores else 0.0

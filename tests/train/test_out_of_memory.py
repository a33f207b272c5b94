"""Out of memory mid-run, for real: training in a subprocess under an address-space limit
(RLIMIT_AS) that the starting batch cannot fit in but half of it can.

The limit is calibrated in the same test from the peak virtual memory (VmPeak) of unlimited
runs at both batch sizes, so it holds whatever torch, glibc or the machine add to the baseline.
"""
from __future__ import annotations

import gc
import os
import resource
import shutil
import signal
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
import torch

from cliruns import wait_for_logged_steps
from faceswap.train.checkpoint import load_checkpoint
from faceswap.train.memory import BackwardDrain
from tiny import tiny_cli_options

# The CLI, reporting its peak virtual memory (kB) to PEAK_FILE on the way out.
WRAPPER = """
import atexit, os, sys
def peak():
    for line in open('/proc/self/status'):
        if line.startswith('VmPeak:'):
            open(os.environ['PEAK_FILE'], 'w').write(line.split()[1])
atexit.register(peak)
from faceswap.cli.main import cli
sys.argv[0] = 'faceswap'
cli()
"""
BATCH = 48          # the tiny model needs ~10 MB per item at this size: the two batches differ by ~200 MB
MB = 2 ** 20


def train_cmd(ws: Path, name: str, iters: int, wrapper: str, *extra: str) -> list[str]:
    return [sys.executable, "-c", wrapper, "-w", str(ws), "--device", "cpu", "train", "--name", name, "--iters",
            str(iters), "--seed", "5", "--init", "none", "--workers", "0", "--preview-every", "0",
            *tiny_cli_options(), *extra]


def train(ws: Path, name: str, iters: int, *extra: str, limit: int | None = None,
          wrapper: str = WRAPPER) -> tuple[subprocess.CompletedProcess, int]:
    """Train model ``name`` to ``iters`` in a subprocess (under an RLIMIT_AS of ``limit`` bytes);
    (result, VmPeak bytes)."""
    peak_file = ws / f"peak_{name}_{iters}"
    # glibc: big blocks always mmapped (no dynamic threshold), so freed tensors leave the address space
    env = dict(os.environ, OMP_NUM_THREADS="1", MALLOC_ARENA_MAX="2", MALLOC_MMAP_THRESHOLD_="65536",
               PEAK_FILE=str(peak_file))

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = subprocess.run(train_cmd(ws, name, iters, wrapper, *extra), env=env, capture_output=True, text=True,
                            timeout=300, preexec_fn=limited if limit else None)
    peak = int(peak_file.read_text()) * 1024 if peak_file.exists() else 0
    return result, peak


# The CLI in a main thread whose oneDNN can build no more kernels: a new convolution shape is tried
# with no address space to spare (the limit lowered for it alone), as under a real memory limit.
SPOILED_WRAPPER = """
import resource, sys, torch, torch.nn.functional as F
def size():
    return int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmSize:'))) * 1024
weight = torch.randn(8, 3, 5, 5)
F.conv2d(torch.randn(2, 3, 32, 32), weight)
faces = torch.randn(3, 3, 33, 33)
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (size() + 100 * 1024, hard))
try:
    F.conv2d(faces, weight)
except RuntimeError as exc:
    print('SPOILED:', exc, file=sys.stderr)
resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
""" + WRAPPER


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_checkpoint(a).weights, load_checkpoint(b).weights
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _failed_backward() -> weakref.ref:
    """A backward that fails in one branch while the other's task is queued; a weak reference to a tensor
    that only the queued branch's graph holds."""
    weights = torch.randn(8, 8, requires_grad=True)
    hidden = torch.randn(4, 8) @ weights
    factor = torch.randn(4, 8)
    kept = weakref.ref(factor)
    left = hidden * factor                  # its backward holds `factor`
    right = hidden * 2

    def fail(grad: torch.Tensor) -> None:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate (test)")
    right.register_hook(fail)
    loss = left.sum() + right.sum()         # the right branch is newer: the engine runs it first
    with pytest.raises(RuntimeError):
        loss.backward()
    return kept


def test_the_drain_frees_what_a_failed_backward_left_queued():
    drain = BackwardDrain()                 # before the failed step, as the loop makes it
    kept = _failed_backward()
    drain()
    gc.collect()
    assert kept() is None


@pytest.mark.slow
def test_out_of_memory_halves_the_batch_and_resumes_with_it(train_ws):
    half, peak_half = train(train_ws, "half", 2, "--batch", str(BATCH // 2))
    full, peak_full = train(train_ws, "full", 1, "--batch", str(BATCH))
    assert half.returncode == 0 and full.returncode == 0, half.stderr + full.stderr
    gap = peak_full - peak_half
    assert gap > 64 * MB, f"batch {BATCH} peaks only {gap / MB:.0f} MB above batch {BATCH // 2}: no room for a limit"

    limit = peak_half + gap // 2
    print(f"VmPeak batch {BATCH // 2}: {peak_half / MB:.0f} MB, batch {BATCH}: {peak_full / MB:.0f} MB; "
          f"limit {limit / MB:.0f} MB")
    limited, _ = train(train_ws, "limited", 2, "--batch", str(BATCH), limit=limit)
    assert limited.returncode == 0, limited.stderr[-2000:]
    warnings = [line[line.index("WARNING:"):] for line in limited.stderr.splitlines() if "out of memory" in line]
    assert warnings == [f"WARNING: out of memory at batch {BATCH} (iteration 0): going on with batch {BATCH // 2}"]
    folder, reference = train_ws / "models" / "limited", train_ws / "models" / "half"
    checkpoint = load_checkpoint(folder)
    assert (checkpoint.state.iteration, checkpoint.state.batch, checkpoint.state.samples) == (2, BATCH // 2, BATCH)
    # nothing of the failed step stayed: the run is the one that started at half the batch
    assert same_weights(folder, reference)

    for name in ("limited", "half"):            # a resume without --batch keeps the halved batch
        result, _ = train(train_ws, name, 3)
        assert result.returncode == 0, result.stderr[-2000:]
    assert load_checkpoint(folder).state.batch == BATCH // 2
    assert same_weights(folder, reference)


@pytest.mark.slow
def test_a_thread_that_can_build_no_convolution_hands_training_to_a_new_one(train_ws):
    spoiled, _ = train(train_ws, "spoiled", 2, "--batch", "8", wrapper=SPOILED_WRAPPER)
    assert "SPOILED: could not create a primitive" in spoiled.stderr, spoiled.stderr[-2000:]
    assert spoiled.returncode == 0, spoiled.stderr[-2000:]
    warnings = [line[line.index("WARNING:"):] for line in spoiled.stderr.splitlines() if "out of memory" in line]
    assert warnings == ["WARNING: out of memory at batch 8 (iteration 0): going on with batch 4"]
    reference, _ = train(train_ws, "reference", 2, "--batch", "4")
    assert reference.returncode == 0, reference.stderr[-2000:]
    assert load_checkpoint(train_ws / "models" / "spoiled").state.batch == 4
    assert same_weights(train_ws / "models" / "spoiled", train_ws / "models" / "reference")


@pytest.mark.slow
def test_a_signal_stops_training_in_the_new_thread_and_saves(train_ws, tmp_path):
    cmd = train_cmd(train_ws, "spoiled", 100000, SPOILED_WRAPPER, "--batch", "8")
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    env = dict(os.environ, OMP_NUM_THREADS="1", PEAK_FILE=str(tmp_path / "peak"))
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True, env=env)
    wait_for_logged_steps(train_ws / "models" / "spoiled" / "loss.jsonl", proc, err)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    assert "going on with batch 4" in err.read_text()
    assert proc.returncode == 0, err.read_text()[-2000:]
    assert "stopped: SIGTERM" in out.read_text()
    checkpoint = load_checkpoint(train_ws / "models" / "spoiled")
    assert checkpoint.state.iteration >= 3 and checkpoint.state.batch == 4


@pytest.mark.slow
def test_out_of_memory_at_batch_one_stops_with_one_line_and_keeps_the_checkpoint(train_ws):
    big = ("-O", "model.resolution=256")        # ~80 MB per item: room between a step and no step
    done, _ = train(train_ws, "tight", 1, "--batch", "1", *big)     # (later -O values win over tiny's)
    assert done.returncode == 0, done.stderr[-2000:]
    shutil.copytree(train_ws / "models" / "tight", train_ws / "models" / "copy")
    idle, peak_idle = train(train_ws, "tight", 1, *big)        # resume at its own iteration: no step
    one, peak_one = train(train_ws, "copy", 2, *big)                                # resume, one step at batch 1
    assert idle.returncode == 0 and one.returncode == 0, idle.stderr[-2000:] + one.stderr[-2000:]
    assert load_checkpoint(train_ws / "models" / "tight").state.iteration == 1
    step = peak_one - peak_idle
    assert step > 16 * MB, f"a batch-1 step peaks only {step / MB:.1f} MB above a run without one"
    # a quarter of a step above the idle peak: after the failed batch-2 attempt freed its memory, a batch-1 step
    # can peak lower than in the calibration run, so half a step was not always too little
    result, _ = train(train_ws, "tight", 3, "--batch", "2", *big, limit=peak_idle + step // 4)
    assert result.returncode == 1, result.stderr[-2000:]
    lines = [line[line.index("WARNING:"):] if "WARNING:" in line else line for line in result.stderr.splitlines()]
    assert "WARNING: out of memory at batch 2 (iteration 1): going on with batch 1" in lines
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: out of memory even at batch 1 on cpu at iteration 1 "
                                                     "(the training up to it is saved)"), result.stderr[-2000:]
    checkpoint = load_checkpoint(train_ws / "models" / "tight")
    assert checkpoint.state.iteration == 1

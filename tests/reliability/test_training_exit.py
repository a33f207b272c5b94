"""Issue 14.2: training saves first on every way out, and survives faces that vanish or break."""
from __future__ import annotations

import signal
import subprocess

import pytest

from cliruns import faceswap_cmd, wait_for_logged_steps
from faceswap.train.checkpoint import load_checkpoint
from faceswap.train.loop import Hook
from faceswap.train.session import prepare_training
from faceswap.workspace import Workspace
from tiny import tiny_cli_options, tiny_request


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_termination_signals_save_like_ctrl_c(train_ws, tmp_path, sig):
    cmd = faceswap_cmd(train_ws, "train", "--batch", "2", "--seed", "1", "--preview-every", "0", "--workers", "1",
                       *tiny_cli_options())
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"     # files: a loader worker may outlive a killed parent
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True)
    wait_for_logged_steps(train_ws / "models" / "sae" / "loss.jsonl", proc, err)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    assert proc.returncode == 0, err.read_text()
    assert f"stopped: {sig.name}" in out.read_text()
    assert load_checkpoint(train_ws / "models" / "sae").state.iteration >= 3


class _BrokenSideJob(Hook):
    def on_stop(self, run):
        raise OSError("preview disk unplugged")


def test_a_failing_side_job_never_prevents_the_save(train_ws, registry, cpu, caplog):
    prepared = prepare_training(tiny_request(3), Workspace(train_ws), registry, cpu)
    prepared.hooks.insert(0, _BrokenSideJob())
    summary = prepared.train()
    assert summary.iteration == 3
    assert load_checkpoint(summary.folder).state.iteration == 3
    assert "preview disk unplugged" in caplog.text


def test_faces_that_vanish_or_break_during_training_are_skipped(train_ws, registry, cpu, caplog):
    ws = Workspace(train_ws)
    prepared = prepare_training(tiny_request(4, preview_every=2), ws, registry, cpu)
    faces = sorted((train_ws / "facesets" / "src" / "faces").glob("*.png"))
    faces[0].unlink()                                     # deleted by hand while training runs
    faces[-1].write_bytes(faces[-1].read_bytes()[:300])    # cut short: unreadable
    summary = prepared.train()
    assert summary.iteration == 4
    assert load_checkpoint(summary.folder).state.iteration == 4
    assert (summary.folder / "previews" / "iter_0000004.png").is_file()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(faces[0].name in w and "skipped" in w for w in warnings), warnings
    assert any(faces[-1].name in w and "skipped" in w for w in warnings), warnings

"""Training on real faces with a tiny SAE: learning, checkpoints, resume, safety."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from faceswap.cli.main import cli
from faceswap.errors import ModelError
from faceswap.train.checkpoint import load_checkpoint
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import tiny_cli_options, tiny_request


def _weights(folder):
    return load_checkpoint(folder).weights


@pytest.mark.slow
def test_tiny_model_learns_real_faces(train_ws, registry, cpu):
    request = tiny_request(80, sample_options={"warp": 0.0, "rotation": 0.0, "scale": 0.0, "shift": 0.0,
                                               "flip": False, "colour": 0.0})
    summary = run_training(request, Workspace(train_ws), registry, cpu)
    history = [json.loads(line) for line in (summary.folder / "loss.jsonl").read_text().splitlines()]
    first = np.mean([h["total"] for h in history[:5]])
    last = np.mean([h["total"] for h in history[-5:]])
    assert last < 0.6 * first, f"loss fell only from {first:.3f} to {last:.3f}"


def test_resumed_run_matches_an_uninterrupted_one(tmp_path, train_ws, registry, cpu):
    straight = Workspace(train_ws)
    run_training(tiny_request(6, name="straight"), straight, registry, cpu)
    run_training(tiny_request(3, name="split"), straight, registry, cpu)
    resumed = run_training(tiny_request(6, name="split"), straight, registry, cpu)
    assert resumed.start_iteration == 3 and resumed.iteration == 6
    a, b = _weights(straight.model_dir("straight")), _weights(straight.model_dir("split"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_round_trip_is_exact(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(2), ws, registry, cpu)
    checkpoint = load_checkpoint(ws.model_dir("sae"))
    model = registry.create("model", "sae", checkpoint.model_info["options"], cpu)
    model.load_state_dict(checkpoint.weights)
    saved = model.state_dict()
    assert all(torch.equal(saved[k], checkpoint.weights[k]) for k in saved)
    assert checkpoint.state.iteration == 2 and checkpoint.state.seed == 7
    optimizer = torch.optim.AdamW(model.parameters())
    optimizer.load_state_dict(checkpoint.optimizer)
    state = optimizer.state_dict()["state"]
    assert len(state) == len(list(model.parameters())) and all("exp_avg" in s for s in state.values())


def test_tampered_weights_are_refused(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(1, backups=1), ws, registry, cpu)
    weights = ws.model_dir("sae") / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its recorded sha256"):
        load_checkpoint(ws.model_dir("sae"))


def test_torn_checkpoint_falls_back_to_the_backup(train_ws, registry, cpu, caplog):
    ws = Workspace(train_ws)
    run_training(tiny_request(2), ws, registry, cpu)
    run_training(tiny_request(4), ws, registry, cpu)
    folder = ws.model_dir("sae")
    (folder / "weights.safetensors").write_bytes(b"half a file")   # as if killed mid-write
    checkpoint = load_checkpoint(folder)
    assert checkpoint.state.iteration == 2 and checkpoint.folder.name == "iter_0000002"
    assert "resuming from backup iter_0000002" in caplog.text


@pytest.mark.slow
def test_killed_while_saving_leaves_a_loadable_checkpoint(train_ws):
    # save after every step, then kill -9 at a random moment: whatever is on disk must load
    cmd = [sys.executable, "-m", "faceswap", "-w", str(train_ws), "--device", "cpu", "train", "--iters", "400",
           "--batch", "2", "--seed", "1", "--preview-every", "0", "--save-minutes", "0.0001", "--workers", "0"]
    cmd += tiny_cli_options()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trainer = train_ws / "models" / "sae" / "trainer.json"
    deadline = time.time() + 120
    while time.time() < deadline and not (trainer.exists() and json.loads(trainer.read_text())["iteration"] >= 3):
        time.sleep(0.05)
    time.sleep(0.137)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    checkpoint = load_checkpoint(train_ws / "models" / "sae")
    assert checkpoint.state.iteration >= 3


def test_changing_a_locked_option_on_resume_is_a_clear_error(train_ws):
    args = ["-w", str(train_ws), "--device", "cpu", "train", "--iters", "1", "--seed", "1", "--preview-every", "0",
            "--workers", "0", "--batch", "2"]
    args += tiny_cli_options()
    assert CliRunner().invoke(cli, args).exit_code == 0
    changed = [a if a != "model.ae_dims=32" else "model.ae_dims=64" for a in args]
    result = CliRunner().invoke(cli, [*changed, "--iters", "2"])
    assert result.exit_code == 1
    assert result.output.strip() == ("error: option 'ae_dims' is locked for model 'sae' (trained with 32, asked for 64): "
                                     "start a new model with --name NEW")


def test_missing_face_set_and_wrong_model_kind(train_ws, tmp_path):
    empty = tmp_path / "empty_ws"
    result = CliRunner().invoke(cli, ["-w", str(empty), "--device", "cpu", "train", "--iters", "1"])
    assert result.exit_code == 1 and "no face set 'src'" in result.output
    result = CliRunner().invoke(cli, ["-w", str(train_ws), "train", "--model", "vea", "--iters", "1"])
    assert result.exit_code == 1 and "unknown model 'vea'" in result.output


def test_preview_and_loss_plot_are_written(train_ws, registry, cpu):
    summary = run_training(tiny_request(4, preview_every=2), Workspace(train_ws), registry, cpu)
    previews = sorted((summary.folder / "previews").glob("*.png"))
    assert [p.name for p in previews] == ["iter_0000002.png", "iter_0000004.png"]
    from faceswap.media.image import read_image
    grid = read_image(previews[-1])
    assert grid.shape == (18 + 4 * 64, 5 * 64, 3)
    assert (summary.folder / "loss.png").is_file()


def _free_port() -> int:
    with socket.socket() as probe:     # a port nothing holds now (a pid-derived one could be taken)
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_ddp_with_gloo_runs_one_step_on_two_processes(train_ws, tmp_path):
    script = (
        "import sys; from faceswap.cli.main import cli; sys.argv[0] = 'faceswap'; cli()"
    )
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), WORLD_SIZE="2")
    args = ["-w", str(train_ws), "--device", "cpu", "train", "--iters", "1", "--batch", "2", "--seed", "3",
            "--preview-every", "0", "--workers", "0", "--name", "ddp"]
    args += tiny_cli_options()
    logs = [tmp_path / f"rank{r}.txt" for r in range(2)]
    procs = []
    for rank, log in enumerate(logs):
        with open(log, "w") as out:
            procs.append(subprocess.Popen([sys.executable, "-c", script, *args], stdout=out, stderr=subprocess.STDOUT,
                                          env=dict(env, RANK=str(rank), LOCAL_RANK=str(rank))))
    try:
        for proc in procs:
            proc.wait(timeout=180)
    finally:
        for proc in procs:      # a rank left waiting for the other must not outlive the test
            proc.kill()
    outputs = [log.read_text() for log in logs]
    assert all(p.returncode == 0 for p in procs), outputs
    checkpoint = load_checkpoint(train_ws / "models" / "ddp")
    assert checkpoint.state.iteration == 1


@pytest.mark.slow
def test_ctrl_c_saves_before_exit(train_ws):
    cmd = [sys.executable, "-m", "faceswap", "-w", str(train_ws), "--device", "cpu", "train", "--batch", "2",
           "--seed", "1", "--preview-every", "0", "--workers", "0"]
    cmd += tiny_cli_options()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = train_ws / "models" / "sae" / "loss.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "stopped: interrupted" in out
    assert load_checkpoint(train_ws / "models" / "sae").state.iteration >= 3


def test_loader_workers_give_the_same_training_as_in_process_loading(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(3, name="inline", workers=0), ws, registry, cpu)
    run_training(tiny_request(3, name="workers", workers=1), ws, registry, cpu)
    a, b = _weights(ws.model_dir("inline")), _weights(ws.model_dir("workers"))
    assert all(torch.equal(a[k], b[k]) for k in a)

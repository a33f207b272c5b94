"""Issue 14.7: killed saves leave nothing behind for good; backups are intact and never shadow each other."""
from __future__ import annotations

from faceswap.train.checkpoint import load_checkpoint
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import tiny_request


def _tamper(path) -> None:
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))


def test_temp_files_of_a_killed_save_are_removed_at_the_next_start(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(1), ws, registry, cpu)
    folder = ws.model_dir("sae")
    # what a save killed half way leaves: write_atomic's hidden temp files and a half-copied backup
    (folder / ".weights.safetensors.k2j4l1.tmp").write_bytes(b"\0" * 2_000_000)
    (folder / ".trainer.json.x9y8.tmp").write_text("{")
    (folder / "backups" / "iter_0000001.tmp").mkdir(parents=True)
    (folder / "backups" / "iter_0000001.tmp" / "weights.safetensors").write_bytes(b"\0" * 1000)
    run_training(tiny_request(2), ws, registry, cpu)
    left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if ".tmp" in p.name)
    assert left == []


def test_tampered_checkpoints_are_never_backed_up_nor_shadow_a_good_one(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    folder = ws.model_dir("sae")
    run_training(tiny_request(2), ws, registry, cpu)
    run_training(tiny_request(4), ws, registry, cpu)        # backups/iter_2, current iteration 4
    _tamper(folder / "weights.safetensors")
    run_training(tiny_request(4), ws, registry, cpu)        # resumes from iter_2, saves a good iteration 4
    run_training(tiny_request(6), ws, registry, cpu)        # the good iteration 4 must become a backup
    for backup in sorted((folder / "backups").iterdir()):
        assert load_checkpoint(backup).folder == backup, f"{backup.name} is not intact"
    _tamper(folder / "weights.safetensors")
    assert load_checkpoint(folder).state.iteration == 4

"""Checkpoints: safetensors weights + JSON, written atomically, verified on load.

Layout of ``models/<name>/``:
  model.json              plugin, version, API, options, face sets: what the weights are
  weights.safetensors     model tensors only
  optimizer.safetensors   optimiser tensors (flattened keys) and the torch RNG state
  adversary.safetensors   only while adversarial terms are on: the discriminators' weights
                          ('weights.*') and their optimiser ('optimizer.*'); training state
                          that merge, export and priors never read
  trainer.json            counters, optimiser hyper-parameters, loss tail, and the sha256 of
                          both tensor files; written last, so it vouches for a complete set
  backups/iter_NNNNNNN/   the last K complete sets that verified when they were made
                          (iter_NNNNNNN_2, _3, ... when another set of that iteration exists)

No pickle anywhere: a checkpoint someone hands you can't run code.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from faceswap.atomic import remove_stale_temps, write_atomic, write_json_atomic, writing
from faceswap.errors import ModelError
from faceswap.hashing import file_sha256

log = logging.getLogger(__name__)

FORMAT = 1
ADVERSARY_FILE = "adversary.safetensors"
FILES = ("model.json", "weights.safetensors", "optimizer.safetensors", ADVERSARY_FILE, "trainer.json")
BACKUP_NAME = re.compile(r"^iter_(\d{7})(?:_(\d+))?$")


@dataclass
class TrainerState:
    """Counters that make a resumed run continue exactly."""

    iteration: int = 0
    seed: int = 0
    seconds: float = 0.0
    losses: list[dict[str, float]] = field(default_factory=list)   # recent history
    batch: int = 0              # the batch the run trains with now (an out-of-memory error halves it); 0: unknown
    samples: int = -1           # samples this process has drawn (the loader resumes there); -1: iteration * batch
    threads: int = 0            # torch CPU threads of the last run (another count changes results in the last bits)


@dataclass(frozen=True)
class Checkpoint:
    """What ``load_checkpoint`` returns."""

    model_info: dict[str, Any]
    weights: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    rng: torch.Tensor | None
    state: TrainerState
    folder: Path
    adversary: dict[str, torch.Tensor] | None = None        # discriminator weights, when they were on
    adversary_optimizer: dict[str, Any] | None = None


def save_checkpoint(folder: Path, model_info: Mapping[str, Any], model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, state: TrainerState, backups: int = 3,
                    adversary: tuple[torch.nn.Module, torch.optim.Optimizer] | None = None) -> None:
    """Write a complete checkpoint; the previous one becomes a backup first.

    ``adversary`` (discriminators and their optimiser) goes to a file of its own, never into
    the model's weights.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "trainer.json").exists() and backups > 0:
        _rotate_backups(folder, backups)
    weights = {k: v.detach().to("cpu").contiguous() for k, v in _unwrap(model).state_dict().items()}
    opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
    opt_tensors["rng.torch"] = torch.get_rng_state()
    weights_bytes, opt_bytes = save(weights), save(opt_tensors)
    digests = {"weights.safetensors": _sha(weights_bytes), "optimizer.safetensors": _sha(opt_bytes)}
    extra: dict[str, Any] = {}
    if adversary is not None:
        adversary_bytes, extra["adversary_optimizer"] = _adversary_bytes(*adversary)
        digests[ADVERSARY_FILE] = _sha(adversary_bytes)
    write_json_atomic(folder / "model.json", {"format": FORMAT, **model_info})
    write_atomic(folder / "weights.safetensors", weights_bytes)
    write_atomic(folder / "optimizer.safetensors", opt_bytes)
    if adversary is not None:
        write_atomic(folder / ADVERSARY_FILE, adversary_bytes)
    write_json_atomic(folder / "trainer.json", {
        "format": FORMAT, "iteration": state.iteration, "seed": state.seed, "seconds": state.seconds,
        "losses": state.losses[-200:], "batch": state.batch, "samples": state.samples, "threads": state.threads,
        "optimizer": opt_meta,
        **extra, "sha256": digests,
    })
    if adversary is None:
        (folder / ADVERSARY_FILE).unlink(missing_ok=True)     # left by an earlier run: not part of this set


def _adversary_bytes(module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[bytes, dict[str, Any]]:
    """The discriminators' file ('weights.*' and 'optimizer.state.*' tensors) and their optimiser's JSON part."""
    tensors = {f"weights.{k}": v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
    tensors.update({f"optimizer.{k}": v for k, v in opt_tensors.items()})
    return save(tensors), opt_meta


def load_checkpoint(folder: Path) -> Checkpoint:
    """Load and verify ``folder``; fall back to the newest intact backup with a warning."""
    if not any((folder / name).exists() for name in FILES):
        raise ModelError(f"no model at {folder} (train one with faceswap train, or name another with --model)")
    checkpoint, problem = _load_intact(folder)
    if checkpoint is not None:
        return checkpoint
    for backup in reversed(backup_folders(folder)):
        found, _ = _load_intact(backup)
        if found is not None:
            log.warning("%s; resuming from backup %s", problem, backup.name)
            return found
    raise ModelError(f"{problem}, and no intact backup: start a new model with --name, or restore the files")


def backup_folders(folder: Path) -> list[Path]:
    """The backups of a model folder, oldest first (by iteration, then by when they were made)."""
    found = [(BACKUP_NAME.match(p.name), p) for p in (folder / "backups").glob("iter_*") if p.is_dir()]
    return [p for m, p in sorted(((m, p) for m, p in found if m), key=lambda mp: _backup_order(mp[0]))]


def remove_leftovers(folder: Path) -> None:
    """Delete what killed saves left behind: write_atomic temp files and half-made backups.

    Call it only while holding the model's lock (a running save owns its temp files).
    """
    for place in (folder, folder / "previews", folder / "backups"):
        if place.is_dir():
            remove_stale_temps(place)
    for half_made in (folder / "backups").glob("*.tmp"):
        shutil.rmtree(half_made, ignore_errors=True)


def has_checkpoint(folder: Path) -> bool:
    return (folder / "model.json").is_file()


def read_model_info(folder: Path) -> dict[str, Any]:
    """model.json of a model folder; ModelError if it is not one."""
    try:
        info = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"no model at {folder} (train one with faceswap train)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{folder / 'model.json'} is not valid JSON ({exc})") from exc
    if not isinstance(info, dict) or "plugin" not in info:
        raise ModelError(f"{folder / 'model.json'} is not a faceswap model description")
    return info


def _load_intact(folder: Path) -> tuple[Checkpoint | None, str | None]:
    """(checkpoint, None) when ``folder`` holds an intact set, else (None, why not)."""
    problem = _verify(folder)
    if problem is not None:
        return None, problem
    try:
        return _read(folder), None
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:   # the files verified, yet do not parse
        return None, f"{folder} holds a checkpoint that cannot be read ({type(exc).__name__}: {exc})"


def _backup_order(match: re.Match) -> tuple[int, int]:
    return int(match.group(1)), int(match.group(2) or 1)


def _verify(folder: Path) -> str | None:
    """None when the set is complete and untampered, else why not."""
    trainer = folder / "trainer.json"
    try:
        meta = json.loads(trainer.read_text(encoding="utf-8"))
        digests = meta["sha256"]
    except FileNotFoundError:
        return f"{trainer} is missing (the checkpoint was never completed)"
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        return f"{trainer} is unreadable"
    for name, digest in digests.items():
        path = folder / name
        if not path.is_file():
            return f"{path} is missing"
        if file_sha256(path) != digest:
            return f"{path} does not match its recorded sha256 (tampered or half-written)"
        problem = _safetensors_problem(path)
        if problem:
            return f"{path} is not a valid safetensors file ({problem})"
    return None


def _safetensors_problem(path: Path) -> str | None:
    """Why ``path`` is not a whole safetensors file (header read only), or None."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return "shorter than its header"
        length = struct.unpack("<Q", head)[0]
        if length > size - 8:
            return "cut short inside its header"
        try:
            header = json.loads(handle.read(length))
            end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0)
        except (ValueError, KeyError, TypeError, IndexError, RecursionError, AttributeError):
            return "its header is corrupt"
    if 8 + length + end != size:
        return f"{size} bytes where its header promises {8 + length + end}"
    return None


def _read(folder: Path) -> Checkpoint:
    meta = json.loads((folder / "trainer.json").read_text(encoding="utf-8"))
    info = read_model_info(folder)
    weights = load((folder / "weights.safetensors").read_bytes())
    opt_tensors = load((folder / "optimizer.safetensors").read_bytes())
    rng = opt_tensors.pop("rng.torch", None)
    optimizer = _unflatten_optimizer(opt_tensors, meta["optimizer"])
    state = TrainerState(meta["iteration"], meta["seed"], meta.get("seconds", 0.0), meta.get("losses", []),
                         meta.get("batch", 0), meta.get("samples", -1), meta.get("threads", 0))
    adversary = adversary_optimizer = None
    if ADVERSARY_FILE in meta["sha256"]:
        tensors = load((folder / ADVERSARY_FILE).read_bytes())
        adversary = {k[len("weights."):]: v for k, v in tensors.items() if k.startswith("weights.")}
        adversary_optimizer = _unflatten_optimizer(
            {k[len("optimizer."):]: v for k, v in tensors.items() if k.startswith("optimizer.")},
            meta["adversary_optimizer"])
    return Checkpoint(info, weights, optimizer, rng, state, folder, adversary, adversary_optimizer)


def _rotate_backups(folder: Path, keep: int) -> None:
    """Copy the current set into backups/ (only if it verifies), then keep the newest ``keep``."""
    problem = _verify(folder)
    if problem is not None:
        log.warning("%s: not keeping it as a backup", problem)
    else:
        target = _backup_target(folder)
        if target is not None:
            tmp = target.with_name(target.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            with writing(tmp):
                tmp.mkdir(parents=True)
                for name in FILES:
                    if (folder / name).exists():
                        shutil.copy2(folder / name, tmp / name)
            tmp.rename(target)      # a backup appears whole or not at all
    for old in backup_folders(folder)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _backup_target(folder: Path) -> Path | None:
    """A backup folder name for the current set; None when an identical intact backup exists."""
    iteration = json.loads((folder / "trainer.json").read_text(encoding="utf-8"))["iteration"]
    current = (folder / "trainer.json").read_bytes()
    base = folder / "backups" / f"iter_{iteration:07d}"
    target, n = base, 1
    while target.exists():
        if _verify(target) is not None:
            shutil.rmtree(target)           # a broken backup is worth nothing: reuse its name
            return target
        if (target / "trainer.json").read_bytes() == current:
            return None
        n += 1
        target = base.with_name(f"{base.name}_{n}")
    return target


def _flatten_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors to 'state.<param>.<key>' entries; everything else to JSON."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state_dict["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for index, entry in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, "module", model)      # DistributedDataParallel wraps the model


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def load_weights(model: torch.nn.Module, weights: Mapping[str, torch.Tensor], folder: Path,
                 trained_version: str | None = None) -> None:
    """Put checkpoint ``weights`` into ``model``; a mismatch is a one-line ModelError.

    ``trained_version``: the plugin version that made the weights (model.json), named in the
    error when it differs from the running plugin's, the likely cause.
    """
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        running = getattr(model, "version", None)
        if trained_version and running and trained_version != running:
            raise ModelError(f"weights in {folder} were made by {getattr(model, 'name', 'the model')} "
                             f"{trained_version} and do not fit version {running} of it (its layers changed): "
                             f"train a new model, or use the faceswap release that made it") from exc
        raise ModelError(f"weights in {folder} do not fit the model ({first})") from exc

"""The training page's data, read from the files ``train`` writes, and the command line to start one."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap.errors import InputError
from faceswap.workspace import Workspace

MAX_POINTS = 400


@dataclass(frozen=True)
class TrainForm:
    """What the training page can set; every field maps to a ``faceswap train`` option."""

    name: str
    src: str = "src"
    dst: str = "dst"
    preset: str = "quick128"
    iters: int = 0
    minutes: float = 0.0
    batch: int = 8
    preview_every: int = 100
    lpips_weight: float = 0.0
    identity_weight: float = 0.0
    pixel: str = "l1"

    def args(self, workspace: Workspace) -> list[str]:
        """``train`` arguments; InputError for a value the command would refuse, said in one line."""
        for label, value in (("model name", self.name), ("src face set", self.src), ("dst face set", self.dst)):
            if not value or "/" in value or value.startswith("."):
                raise InputError(f"{label} '{value}' is not a plain name")
        for label, value in (("src", self.src), ("dst", self.dst)):
            if not workspace.faceset_dir(value).is_dir():
                raise InputError(f"no face set '{value}' for {label} in {workspace.facesets}")
        checks = (("iterations", self.iters, 0, 10**9), ("minutes", self.minutes, 0, 10**6),
                  ("batch", self.batch, 1, 4096), ("preview every", self.preview_every, 0, 10**9),
                  ("LPIPS weight", self.lpips_weight, 0, 100), ("identity weight", self.identity_weight, 0, 100))
        for label, value, low, high in checks:
            if not low <= value <= high:
                raise InputError(f"{label} {value} is out of range ({low} to {high})")
        if self.pixel not in ("l1", "mse"):
            raise InputError(f"pixel loss '{self.pixel}' is not l1 or mse")
        args = ["train", "--name", self.name, "--src", self.src, "--dst", self.dst, "--batch", str(self.batch),
                "--iters", str(self.iters), "--minutes", str(self.minutes), "--preview-every", str(self.preview_every),
                "-O", f"loss.pixel={self.pixel}", "-O", f"loss.lpips_weight={self.lpips_weight}",
                "-O", f"loss.identity_weight={self.identity_weight}"]
        if self.preset and not (workspace.model_dir(self.name) / "model.json").is_file():
            args += ["--preset", self.preset]           # a preset names the options of a new model only
        return args


def loss_history(folder: Path, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """{iteration: [...], src: [...], dst: [...]}: the summed src_/dst_ losses, thinned to ``max_points``."""
    path = folder / "loss.jsonl"
    rows = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    rows.append(json.loads(line))
                except ValueError:          # the line a running train is writing right now
                    continue
    except OSError:
        return {"iteration": [], "src": [], "dst": []}
    step = max(1, len(rows) // max_points)
    picked = rows[::step] + ([rows[-1]] if rows and (len(rows) - 1) % step else [])
    return {"iteration": [r.get("iteration", 0) for r in picked],
            "src": [round(sum(v for k, v in r.items() if k.startswith("src_")), 5) for r in picked],
            "dst": [round(sum(v for k, v in r.items() if k.startswith("dst_")), 5) for r in picked]}


def latest_preview(folder: Path) -> Path | None:
    previews = sorted((folder / "previews").glob("iter_*.png")) if (folder / "previews").is_dir() else []
    return previews[-1] if previews else None


def model_state(workspace: Workspace, name: str) -> dict[str, Any]:
    folder = workspace.model_dir(name)
    if not name or "/" in name or not folder.is_dir():
        raise InputError(f"no model '{name}' in {workspace.models}")
    trainer: dict[str, Any] = {}
    try:
        trainer = json.loads((folder / "trainer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    preview = latest_preview(folder)
    return {"name": name, "iteration": trainer.get("iteration", 0), "seconds": trainer.get("seconds", 0),
            "loss": loss_history(folder), "preview": preview.name if preview else None}

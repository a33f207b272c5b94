"""Training options stored with a model, so that a resume without repeating them trains alike.

At a model's first training the resolved settings (learning rate, its schedule and warm-up,
gradient clipping, learning-rate dropout, mixed precision) and every loss and sample option
go into model.json under "training"; the batch goes into trainer.json, because an
out-of-memory error changes it mid-run. A resumed run takes each value from the command line
when given, else from the model, else the default. A given value that differs from the
stored one is used, said in one warning line, and stored, so the next resume keeps it (a
resume is bit-exact with a run that made the same change at the same iteration). Only the
optimiser is refused (session.py): its moments would not carry over to another one.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from faceswap.model_api import PresetTraining
from faceswap.options import build_options, options_to_dict
from faceswap.train.budget import schedule_of
from faceswap.train.loop import AUTO_BATCH, TrainSettings
from faceswap.train.losses import LossConfig
from faceswap.train.optimizers import default_learning_rate
from faceswap.train.samples import SampleConfig

log = logging.getLogger(__name__)

STORED_SETTINGS = {"lr": "--lr", "lr_schedule": "--lr-schedule", "warmup": "warmup", "clip_grad": "--clip-grad",
                   "lr_dropout": "--lr-dropout", "warp_until": "--warp-until", "amp": "--amp"}
SAMPLE_FROM_MODEL = ("resolution", "coverage")      # set by the model's options, not stored here


def resolve_training(asked: TrainSettings, loss_asked: Mapping[str, Any], sample_asked: Mapping[str, Any],
                     tuned: PresetTraining, options: Any, checkpoint: Any,
                     name: str) -> tuple[TrainSettings, LossConfig, SampleConfig]:
    """Settings, loss and sample options of model ``name``: asked > stored with it > a new model's preset
    (``tuned``, the model's PRESET_TRAINING) > defaults.

    ``checkpoint``: the resumed model's (None for a new one). A resume that asks for other values
    than the stored ones uses them, said in one warning line.
    """
    stored = checkpoint.model_info.get("training") if checkpoint else None
    changes: list[str] = []
    settings = resolve_settings(asked, (stored or {}).get("settings", {}), checkpoint.state.batch if checkpoint else 0,
                                tuned.lr, options.resolution, changes)
    loss = resolve_options(LossConfig, stored.get("loss") if stored else None, loss_asked, "loss", changes,
                           new_defaults=None if checkpoint else tuned.loss)
    sample = resolve_options(SampleConfig, stored.get("sample") if stored else None, sample_asked, "sample", changes,
                             new_defaults=None if checkpoint else tuned.sample,
                             fixed={"resolution": options.resolution, "coverage": options.coverage})
    if changes:
        log.warning("model '%s' was trained with other options; from now on: %s", name, ", ".join(changes))
    return settings, loss, sample


def resolve_settings(asked: TrainSettings, stored: Mapping[str, Any], stored_batch: int, preset_lr: float | None,
                     resolution: int, changes: list[str]) -> TrainSettings:
    """``asked`` with what it leaves open filled from ``stored`` (then defaults); differences go to ``changes``.

    The learning rate none of them gives is the preset's, else the default for the model's
    ``resolution`` and whether this run decays it; it is stored as unset, so each resume chooses
    it again for its own schedule. The batch comes back as AUTO_BATCH when asked
    for: the caller measures it.
    """
    values: dict[str, Any] = {}
    for name, flag in {**STORED_SETTINGS, "batch": "--batch"}.items():
        given = getattr(asked, name)
        before = (stored_batch or None) if name == "batch" else stored.get(name)
        values[name] = before if given is None else given
        if given is not None and before is not None and given != before and given != AUTO_BATCH:
            changes.append(f"{flag} {before} -> {given}")
    settings = dataclasses.replace(asked, **values).with_defaults()
    if settings.lr is not None:
        return settings
    decaying = schedule_of(settings) == "cosine"
    return dataclasses.replace(settings, lr=preset_lr or default_learning_rate(resolution, decaying),
                               lr_by_default=True)


def resolve_options(options_cls: type, stored: Mapping[str, Any] | None, asked: Mapping[str, Any], kind: str,
                    changes: list[str], new_defaults: Mapping[str, Any] | None = None,
                    fixed: Mapping[str, Any] | None = None) -> Any:
    """Loss or sample options: ``asked`` over the stored ones (a new model: over ``new_defaults``).

    ``fixed``: values that come from elsewhere (a sample's resolution and coverage: the model's).
    Stored keys this version no longer knows are dropped.
    """
    known = {f.name for f in dataclasses.fields(options_cls)}
    base = {k: v for k, v in (stored if stored is not None else new_defaults or {}).items() if k in known}
    fixed = dict(fixed or {})
    options = build_options(options_cls, {**base, **asked, **fixed}, kind)
    if stored is not None and asked:
        before = build_options(options_cls, {**base, **fixed}, kind)
        for field in dataclasses.fields(options_cls):
            old, new = getattr(before, field.name), getattr(options, field.name)
            if field.name not in fixed and old != new:
                changes.append(f"{kind}.{field.name} {old} -> {new}")
    return options


def training_record(settings: TrainSettings, loss: Any, sample: Any) -> dict[str, Any]:
    """What model.json keeps under "training"."""
    sample_values = {k: v for k, v in options_to_dict(sample).items() if k not in SAMPLE_FROM_MODEL}
    values = {name: getattr(settings, name) for name in STORED_SETTINGS}
    if settings.lr_by_default:      # the default follows the schedule: a resume without a budget must not keep
        values["lr"] = None         # a decaying run's higher rate held constant (measured worse, README)
    return {"settings": values,
            "loss": options_to_dict(loss), "sample": sample_values}

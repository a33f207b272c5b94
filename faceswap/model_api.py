"""The contract of a face model plugin: everything core relies on, stated and checked.

Kept apart from plugin_api so that extraction never imports torch. A model is one class
in one file or package (see plugins/model/sae/):

- ``Options``: a frozen dataclass subclassing ``ModelOptions`` (so it has ``resolution``
  and ``coverage``, the crop the model sees and makes), every field defaulted;
- ``PRESETS``: named option sets (``--preset quick``), each a subset of ``Options``; optionally
  ``DEFAULT_PRESET``, the one a new model gets when none is named (else ``Options``' own defaults);
- optionally ``PRESET_TRAINING``: training defaults a preset brings (``PresetTraining``: learning
  rate, optimiser, loss and sample options), below what the user asks for;
- optionally ``PRIORS``: a shipped face prior (faceswap/train/prior.py) per preset, as WeightFiles,
  and ``grows_from``/``grow_from`` to start a larger architecture from a smaller prior;
- ``decoder_count``: how many decoders it has. Decoder 0 draws the source person (the face put
  in), decoder 1 the destination; a model with one decoder learns any number of face sets
  alike and cannot swap;
- ``encode(x) -> Encoded`` and ``decode(code, decoder) -> (rgb, mask)``;
- optionally ``extra_losses(encoded)`` (e.g. a VAE's KL term, from what encode returned);
- optionally the ``LatentSampler`` capability: ``sample(count, temperature, generator)``
  draws codes from a prior (``faceswap generate``).

Shapes: x is ``(B, 3, R, R)`` float in [0, 1]; rgb ``(B, 3, R, R)`` and mask ``(B, 1, R, R)``
in [0, 1]; the code's shape is the model's own (a vector or a feature map). A model may work
inside at other scales (SAE's double_res and half_input do), but takes and makes R-px faces.
The registry checks a model class against this contract when it loads it.
"""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from faceswap.errors import OptionError
from faceswap.options import build_options, option
from faceswap.train.losses import LossConfig
from faceswap.train.samples import SampleConfig
from faceswap.weights import WeightFile

SOURCE_DECODER = 0          # the person whose face is put in
DESTINATION_DECODER = 1     # the person whose face is replaced


@dataclass(frozen=True)
class ModelOptions:
    """Options every model has; a model's Options subclass this and add their own."""

    resolution: int = option(64, "side of the faces the model sees and makes, in pixels", min=16, max=1024,
                             locked=True)
    coverage: float = option(1.6, "how much of the head the model sees, in template units (1.6: whole face "
                                  "with forehead; 2.2: the whole stored crop)", min=1.0, max=2.2, locked=True)


@dataclass(frozen=True)
class PresetTraining:
    """How a preset is best trained: defaults under the user's own --lr, --optimizer and -O loss/sample."""

    lr: float | None = None
    optimizer: str | None = None
    loss: Mapping[str, Any] = field(default_factory=dict)
    sample: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Encoded:
    """What ``encode`` returns: the code ``decode`` takes, and what the model's own losses need."""

    code: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


class FaceModel(nn.Module):
    """Base class of model plugins: a shared encoder and ``decoder_count`` decoders."""

    kind: ClassVar[str] = "model"
    name: ClassVar[str]
    version: ClassVar[str]
    api_version: ClassVar[int]
    Options: ClassVar[type] = ModelOptions
    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    DEFAULT_PRESET: ClassVar[str | None] = None
    PRESET_TRAINING: ClassVar[Mapping[str, PresetTraining]] = {}
    PRIORS: ClassVar[Mapping[str, WeightFile]] = {}
    decoder_count: ClassVar[int] = 2

    def __init__(self, options: Any, device: Any = None) -> None:
        super().__init__()
        self.options = options
        self.device_spec = device

    @property
    def resolution(self) -> int:
        return int(self.options.resolution)

    @property
    def coverage(self) -> float:
        return float(self.options.coverage)

    @property
    def can_swap(self) -> bool:
        return self.decoder_count > DESTINATION_DECODER

    def encode(self, x: torch.Tensor) -> Encoded:
        """The code of a batch of faces."""
        raise NotImplementedError

    def decode(self, code: torch.Tensor, decoder: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(rgb, mask) of ``code`` drawn by decoder number ``decoder``."""
        raise NotImplementedError

    @classmethod
    def grows_from(cls, prior_options: Mapping[str, Any], options: Any) -> bool:
        """Whether a new model with ``options`` can start from a prior of another architecture, trained
        with ``prior_options`` (e.g. a smaller resolution); ``grow_from`` then loads it. None can by default."""
        return False

    def grow_from(self, weights: Mapping[str, torch.Tensor]) -> None:
        """Load the weights of a prior ``grows_from`` accepted, mapped into this architecture."""
        raise NotImplementedError(f"{type(self).__name__} cannot grow a prior of another architecture")

    def extra_losses(self, encoded: Encoded) -> dict[str, torch.Tensor]:
        """Model-specific loss terms computed from what ``encode`` returned; none by default."""
        return {}


class LatentSampler(ABC):
    """Capability: the model has a prior to draw codes from (mix it into the model class)."""

    @abstractmethod
    def sample(self, count: int, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``count`` codes ``decode`` accepts, drawn from the prior at ``temperature``."""


def model_problems(cls: type) -> list[str]:
    """What is wrong with a model class against the contract (empty when nothing is)."""
    problems = []
    options_cls = getattr(cls, "Options", None)
    if not (isinstance(options_cls, type) and dataclasses.is_dataclass(options_cls)
            and issubclass(options_cls, ModelOptions)):
        problems.append("its Options must be a dataclass subclassing faceswap.model_api.ModelOptions")
    count = getattr(cls, "decoder_count", None)
    if not (isinstance(count, int) and count >= 1):
        problems.append(f"'decoder_count' must be a whole number >= 1, not {count!r}")
    for method in ("encode", "decode"):
        if getattr(cls, method, None) is getattr(FaceModel, method):
            problems.append(f"it does not implement {method}()")
    if issubclass(cls, LatentSampler) and cls.sample is LatentSampler.sample:
        problems.append("it claims LatentSampler but does not implement sample()")
    if not problems:
        problems += _preset_problems(cls)
    return problems


def _preset_problems(cls: type) -> list[str]:
    presets = getattr(cls, "PRESETS", None)
    if not isinstance(presets, Mapping):
        return ["PRESETS must map preset names to option values"]
    problems = [f"PRIORS names preset '{name}', which PRESETS lacks" for name in getattr(cls, "PRIORS", {})
                if name not in presets]
    default = getattr(cls, "DEFAULT_PRESET", None)
    if default is not None and default not in presets:
        problems.append(f"DEFAULT_PRESET names preset '{default}', which PRESETS lacks")
    for preset, values in presets.items():
        try:
            build_options(cls.Options, dict(values), f"preset '{preset}'")
        except (OptionError, TypeError, ValueError) as exc:
            problems.append(str(exc))
    return problems + _preset_loss_problems(cls, presets)


def _preset_loss_problems(cls: type, presets: Mapping[str, Any]) -> list[str]:
    tuned = getattr(cls, "PRESET_TRAINING", {})
    if not isinstance(tuned, Mapping):
        return ["PRESET_TRAINING must map preset names to PresetTraining"]
    problems = []
    for preset, training in tuned.items():
        if preset not in presets:
            problems.append(f"PRESET_TRAINING names preset '{preset}', which PRESETS lacks")
            continue
        if not isinstance(training, PresetTraining):
            problems.append(f"PRESET_TRAINING['{preset}'] must be a PresetTraining")
            continue
        try:
            build_options(LossConfig, dict(training.loss), f"the loss of preset '{preset}'")
            build_options(SampleConfig, {**training.sample, "resolution": 64, "coverage": 1.6},   # the model's own
                          f"the samples of preset '{preset}'")
        except (OptionError, TypeError, ValueError) as exc:
            problems.append(str(exc))
    return problems

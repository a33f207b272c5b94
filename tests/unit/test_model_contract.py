"""The model contract is enforced when a model plugin loads: a stranger's model either fits or
is refused with a message that says what is missing."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from faceswap.errors import OptionError, PluginError
from faceswap.model_api import Encoded, FaceModel, LatentSampler, ModelOptions, model_problems
from faceswap.options import build_options, option
from faceswap.plugin_api import API_VERSION
from faceswap.registry import validate_plugin


class Tiny(FaceModel):
    name = "tiny"
    version = "1.0"
    api_version = API_VERSION
    decoder_count = 2
    PRESETS = {"quick": {"resolution": 32, "width": 4}}

    @dataclass(frozen=True)
    class Options(ModelOptions):
        width: int = option(8, "channels", min=1)

    def __init__(self, options, device=None):
        super().__init__(options, device)
        self.encoder = nn.Conv2d(3, options.width, 3, padding=1)
        self.heads = nn.ModuleList(nn.Conv2d(options.width, 4, 3, padding=1) for _ in range(self.decoder_count))

    def encode(self, x):
        return Encoded(self.encoder(x))

    def decode(self, code, decoder):
        out = torch.sigmoid(self.heads[decoder](code))
        return out[:, :3], out[:, 3:]


def test_a_complete_model_passes_and_swaps():
    assert model_problems(Tiny) == []
    validate_plugin(Tiny, "model", "tiny", "test")
    model = Tiny(build_options(Tiny.Options, Tiny.PRESETS["quick"], "tiny"))
    rgb, mask = model.decode(model.encode(torch.rand(2, 3, 32, 32)).code, 1)
    assert rgb.shape == (2, 3, 32, 32) and mask.shape == (2, 1, 32, 32) and model.can_swap


def test_an_empty_subclass_is_refused():
    class Empty(FaceModel):
        name, version, api_version = "empty", "1.0", API_VERSION

    problems = model_problems(Empty)
    assert "it does not implement encode()" in problems and "it does not implement decode()" in problems
    with pytest.raises(PluginError, match="model 'empty' .* breaks the model contract: .*encode"):
        validate_plugin(Empty, "model", "empty", "test")


def test_options_without_resolution_and_coverage_are_refused():
    class NoCrop(Tiny):
        @dataclass(frozen=True)
        class Options:
            width: int = option(8, "channels")

    assert any("ModelOptions" in p for p in model_problems(NoCrop))


def test_bad_decoder_count_and_presets_are_refused():
    class Zero(Tiny):
        decoder_count = 0

    class BadPreset(Tiny):
        PRESETS = {"quick": {"resolution": 32, "widht": 4}}

    assert any("decoder_count" in p for p in model_problems(Zero))
    assert any("unknown option 'widht'" in p and "did you mean" in p for p in model_problems(BadPreset))


def test_a_sampler_must_sample():
    class Claims(Tiny, LatentSampler):
        pass

    assert any("sample()" in p for p in model_problems(Claims))


def test_model_options_mistakes_are_option_errors():
    from faceswap.registry import Registry

    sae = Registry.discover().load("model", "sae")
    with pytest.raises(OptionError, match="resolution.*not a multiple of 16"):
        build_options(sae.Options, {"resolution": "72"}, "model 'sae'")

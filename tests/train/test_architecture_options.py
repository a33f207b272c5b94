"""SAE's architecture knobs (DeepFaceLab's archi string): liae, pixel_norm (-u), double_res (-d),
half_input, and the full preset with SAEHD's training defaults. Each trains, resumes
bit-exactly, and is what it says."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from faceswap.options import build_options
from faceswap.train.checkpoint import load_checkpoint
from faceswap.train.session import TrainRequest, prepare_training, run_training
from faceswap.workspace import Workspace
from tiny import TINY, tiny_request

KNOBS = {
    "liae": {"archi": "liae"},
    "pixel_norm": {"pixel_norm": "true"},
    "double_res": {"double_res": "true", "half_input": "true"},
}


def sae(registry, **values):
    cls = registry.load("model", "sae")
    return cls(build_options(cls.Options, {**TINY, **values}, "sae")).eval()


@pytest.mark.parametrize("knob", KNOBS)
def test_each_knob_trains_and_resumes_bit_exactly(knob, train_ws, registry, cpu):
    ws = Workspace(train_ws)
    options = {**TINY, **KNOBS[knob]}
    run_training(tiny_request(4, name="straight", model_options=options), ws, registry, cpu)
    run_training(tiny_request(2, name="split", model_options=options), ws, registry, cpu)
    run_training(tiny_request(4, name="split", model_options=options), ws, registry, cpu)
    a, b = (load_checkpoint(ws.model_dir(n)).weights for n in ("straight", "split"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    stored = load_checkpoint(ws.model_dir("split")).model_info["options"]
    assert all(str(stored[k]).lower() == str(v).lower() for k, v in KNOBS[knob].items())


def test_liae_swap_reads_only_the_shared_inter_block(registry):
    """Decoder 0 (the swap) draws [inter_ab, inter_ab]; decoder 1 [inter_b, inter_ab], as SAEHD's LIAE."""
    torch.manual_seed(0)
    model = sae(registry, archi="liae")
    faces = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        code = model.encode(faces).code
        swap, dst = model.decode(code, 0)[0], model.decode(code, 1)[0]
        model.inter_b.dense2.weight.mul_(-3)
        swap_after, dst_after = model.decode(code, 0)[0], model.decode(code, 1)[0]
    assert torch.equal(swap, swap_after)
    assert not torch.allclose(dst, dst_after)
    assert model.inter_ab.shape[0] == 2 * TINY["ae_dims"]       # SAEHD's inter blocks are 2 ae_dims wide


def test_pixel_norm_makes_the_code_independent_of_the_encoders_scale(registry):
    torch.manual_seed(0)
    normed, plain = sae(registry, pixel_norm="true"), sae(registry)
    plain.load_state_dict(normed.state_dict())
    faces = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        before = [m.encode(faces).code for m in (normed, plain)]
        for m in (normed, plain):
            m.encoder[-1][0].weight.mul_(5)
            m.encoder[-1][0].bias.mul_(5)
        after = [m.encode(faces).code for m in (normed, plain)]
    assert torch.allclose(before[0], after[0], rtol=1e-3, atol=1e-3)
    assert not torch.allclose(before[1], after[1], atol=1e-2)


def test_double_res_decodes_from_half_the_bottleneck_and_half_input_sees_half_the_pixels(registry):
    small = sae(registry, resolution=64)                                          # a 64 px model ...
    doubled = sae(registry, resolution=128, double_res="true", half_input="true")   # ... and 128 px at its size
    assert doubled.inter.shape == small.inter.shape
    assert doubled.inter.dense1.in_features == small.inter.dense1.in_features
    sizes = [sum(p.numel() for p in m.parameters()) for m in (small, doubled)]
    assert sizes[1] < sizes[0] * 1.01
    faces = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        rgb, mask = doubled.decode(doubled.encode(faces).code, 0)
        blocky = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(faces, 2), scale_factor=2)
        same = doubled.encode(blocky).code
    assert rgb.shape == (2, 3, 128, 128) and mask.shape == (2, 1, 128, 128)
    assert torch.allclose(doubled.encode(faces).code, same, atol=1e-5)   # it sees 2x2 averages only


def test_a_bad_resolution_for_double_res_is_an_option_error(train_ws, registry, cpu):
    from faceswap.errors import OptionError

    request = tiny_request(1, model_options={**TINY, "resolution": 80, "double_res": "true"})
    with pytest.raises(OptionError, match="80 is not a multiple of 32"):
        prepare_training(request, Workspace(train_ws), registry, cpu)


def test_full_preset_brings_saehd_training_defaults_and_keeps_them_on_resume(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    sae_cls = registry.load("model", "sae")
    assert sae_cls.PRESETS["full"] == {"resolution": 128, "archi": "liae", "pixel_norm": True, "double_res": True,
                                       "ae_dims": 256, "e_dims": 64, "d_dims": 64, "d_mask_dims": 22}
    small = {**TINY, "resolution": 64}          # the full preset's knobs at a tiny size
    base = tiny_request(1, name="full", preset="full", model_options=small, init="none")
    request = dataclasses.replace(base, settings=dataclasses.replace(base.settings, lr=None))
    prepared = prepare_training(request, ws, registry, cpu)
    run = prepared.run
    assert run.settings.lr == 5e-5 and run.settings.optimizer == "adabelief"
    config = run.step_module.config
    assert (config.pixel, config.pixel_weight, config.dssim_weight, config.mask_weight) == ("mse", 10, 10, 10)
    assert run.model.options.archi == "liae" and run.model.options.double_res and run.model.options.pixel_norm
    prepared.train()
    resumed = prepare_training(TrainRequest(**{**vars(request), "preset": None, "settings": dataclasses.replace(
        request.settings, iters=2)}), ws, registry, cpu)
    assert resumed.run.settings.lr == 5e-5 and resumed.run.step_module.config.dssim_weight == 10
    asked = TrainRequest(**{**vars(request), "name": "mine", "loss_options": {"dssim_weight": "2"},
                            "settings": dataclasses.replace(request.settings, lr=1e-3)})
    mine = prepare_training(asked, ws, registry, cpu).run
    assert mine.settings.lr == 1e-3 and mine.step_module.config.dssim_weight == 2

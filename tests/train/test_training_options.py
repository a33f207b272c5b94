"""Training options from DeepFaceLab's toolbox: each trains, resumes bit-exactly and is checked on resume."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from faceswap.errors import ModelError
from faceswap.options import build_options
from faceswap.train.checkpoint import load_checkpoint, read_model_info
from faceswap.train.losses import loss_region
from faceswap.train.session import prepare_training, run_training
from faceswap.workspace import Workspace
from tiny import TINY, tiny_request

KNOBS = {"optimizer": "adabelief", "lr_dropout": 0.3}
LOSS = {"mask_margin": "0.05", "mask_blur": "0.03", "pixel": "mse", "dssim_weight": "10"}


def weights(folder):
    return load_checkpoint(folder).weights


def test_adabelief_lr_dropout_and_loss_region_resume_exactly(train_ws, registry, cpu):
    ws = Workspace(train_ws)

    def request(iters: int, name: str):
        base = tiny_request(iters, name=name, loss_options=LOSS)
        return dataclasses.replace(base, settings=dataclasses.replace(base.settings, **KNOBS))

    run_training(request(6, "straight"), ws, registry, cpu)
    run_training(request(3, "split"), ws, registry, cpu)
    run_training(tiny_request(6, name="split"), ws, registry, cpu)      # knobs and losses stored with the model
    a, b = weights(ws.model_dir("straight")), weights(ws.model_dir("split"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_checkpoint(ws.model_dir("split")).model_info["optimizer"] == "adabelief"


def test_resuming_with_another_optimizer_is_refused(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(2), ws, registry, cpu)
    other = tiny_request(4)
    other = dataclasses.replace(other, settings=dataclasses.replace(other.settings, optimizer="adabelief"))
    with pytest.raises(ModelError, match="trained with --optimizer adamw"):
        run_training(other, ws, registry, cpu)


def test_lr_dropout_leaves_some_weights_where_they_were(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    request = tiny_request(1, name="dropped", init="none")
    run_training(dataclasses.replace(request, settings=dataclasses.replace(request.settings, lr_dropout=0.5)),
                 ws, registry, cpu)
    sae = registry.load("model", "sae")
    torch.manual_seed(request.seed)                      # the run's own seed: its starting weights
    start = sae(build_options(sae.Options, TINY, "sae")).state_dict()["encoder.0.0.weight"]
    moved = weights(ws.model_dir("dropped"))["encoder.0.0.weight"] != start
    assert 0.35 < float(moved.float().mean()) < 0.65


def test_loss_region_grows_and_feathers_the_mask():
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 20:44, 20:44] = 1
    grown = loss_region(mask, margin=0.05, blur=0.0)
    assert grown[..., 17, 32] == 1 and grown[..., 15, 32] == 0     # 3 px = 5% of 64
    soft = loss_region(mask, margin=0.0, blur=0.05)
    assert 0.2 < float(soft[..., 20, 32]) < 0.8 and float(soft[..., 32, 32]) > 0.99


def test_icnr_initialisation_starts_without_a_pixel_grid(registry, facesets_root):
    from faceswap.train.samples import SampleConfig
    from faceswap.train.session import preview_faces

    sae = registry.load("model", "sae")
    paths = sorted((facesets_root / "facesets" / "src" / "faces").glob("*.png"))
    faces, _ = preview_faces(paths, paths, SampleConfig(64, 1.6), count=8)

    def grid(init: str) -> float:
        torch.manual_seed(0)
        model = sae(build_options(sae.Options, {**TINY, "init": init}, "sae")).eval()
        with torch.no_grad():
            out = model.decode(model.encode(faces).code, 0)[0].mean(1)
        checker = out[:, 0::2, 0::2] + out[:, 1::2, 1::2] - out[:, 0::2, 1::2] - out[:, 1::2, 0::2]
        return float(checker.abs().mean() / out.std())

    assert grid("xavier") < 0.5 * grid("torch")


def test_a_new_model_without_a_preset_gets_quick128_and_a_resumed_one_keeps_its_own(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(1, name="made_quick"), ws, registry, cpu)          # --preset quick
    run_training(tiny_request(2, name="made_quick", preset=None, model_options={}), ws, registry, cpu)
    info = read_model_info(ws.model_dir("made_quick"))
    assert (info["preset"], info["options"]["resolution"], info["options"]["double_res"]) == ("quick", 64, False)
    new = prepare_training(tiny_request(1, name="new", preset=None, model_options={}, init="none"), ws, registry, cpu)
    options = new.run.model.options
    assert (options.resolution, options.double_res, options.half_input) == (128, True, True)


def test_warp_until_trains_on_the_plain_faces_for_the_rest_of_the_run(train_ws, registry, cpu):
    from faceswap.train.loop import TrainSettings, warp_is_over

    ws = Workspace(train_ws)

    def trained(name: str, warp_until: float, sample_options: dict | None = None) -> dict:
        request = tiny_request(3, name=name, init="none", sample_options=sample_options or {})
        settings = dataclasses.replace(request.settings, warp_until=warp_until)
        run_training(dataclasses.replace(request, settings=settings), ws, registry, cpu)
        return weights(ws.model_dir(name))

    unwarped, cut, warped = trained("unwarped", 1.0, {"warp": 0.0}), trained("cut", 0.0), trained("warped", 1.0)
    assert all(torch.equal(unwarped[k], cut[k]) for k in unwarped)       # inputs = the loader's unwarped targets
    assert not all(torch.equal(warped[k], cut[k]) for k in warped)
    late = TrainSettings(iters=100, warp_until=0.75)
    assert [warp_is_over(late, i) for i in (0, 74, 75, 99)] == [False, False, True, True]
    assert not warp_is_over(TrainSettings(minutes=5.0, lr_schedule="constant", warp_until=0.5), 10_000)
    assert warp_is_over(TrainSettings(minutes=5.0, warp_until=0.5, schedule_span=(0, 400)), 200)
    # unset (the default): a --minutes run whose decay the time plans cuts at 70%; an --iters run warps throughout
    planned = TrainSettings(minutes=5.0, schedule_span=(0, 400)).with_defaults()
    assert [warp_is_over(planned, i) for i in (279, 280)] == [False, True]
    assert not any(warp_is_over(TrainSettings(iters=100).with_defaults(), i) for i in (0, 99))

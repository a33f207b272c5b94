"""Training fits the device: stored training options, --batch auto, out-of-memory halving, cores."""
from __future__ import annotations

import dataclasses
import json
import logging

import torch

from cliruns import run_cli
from faceswap.runtime.cores import plan_training, usable_cores
from faceswap.train.autobatch import cpu_batch, probe_batch, probe_step, tiled_samples
from faceswap.train.checkpoint import load_checkpoint
from faceswap.train.losses import LossConfig
from faceswap.train.session import prepare_training, run_training
from faceswap.workspace import Workspace
from tiny import tiny_cli_options, tiny_request

LOSS = {"pixel": "mse", "dssim_weight": "10", "mask_margin": "0.05"}
SAMPLE = {"flip": "false", "warp": "0.02"}


def with_settings(request, **values):
    return dataclasses.replace(request, settings=dataclasses.replace(request.settings, **values))


def weights_equal(a, b) -> bool:
    wa, wb = load_checkpoint(a).weights, load_checkpoint(b).weights
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_resume_without_the_options_uses_the_stored_ones(train_ws, registry, cpu, caplog):
    ws = Workspace(train_ws)

    def first(iters, name):
        return with_settings(tiny_request(iters, name=name, loss_options=LOSS, sample_options=SAMPLE),
                             lr=2e-3, lr_dropout=0.2, clip_grad=0.5, batch=3)

    run_training(first(4, "straight"), ws, registry, cpu)
    run_training(first(2, "split"), ws, registry, cpu)
    caplog.clear()
    bare = with_settings(tiny_request(4, name="split"), lr=None, batch=None)    # nothing repeated
    run_training(bare, ws, registry, cpu)
    assert "trained with other options" not in caplog.text
    assert weights_equal(ws.model_dir("straight"), ws.model_dir("split"))
    info = load_checkpoint(ws.model_dir("split")).model_info["training"]
    assert info["loss"]["pixel"] == "mse" and info["loss"]["dssim_weight"] == 10.0
    assert info["sample"]["flip"] is False and info["settings"]["lr"] == 2e-3
    assert load_checkpoint(ws.model_dir("split")).state.batch == 3


def test_a_resume_with_another_value_warns_in_one_line_and_keeps_it(train_ws, registry, cpu, caplog):
    ws = Workspace(train_ws)
    run_training(tiny_request(2, loss_options=LOSS), ws, registry, cpu)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        run_training(with_settings(tiny_request(3, loss_options={"dssim_weight": "1"}), lr=5e-4), ws, registry, cpu)
    lines = [r.getMessage() for r in caplog.records if "trained with other options" in r.getMessage()]
    assert lines == ["model 'sae' was trained with other options; from now on: --lr 0.001 -> 0.0005, "
                     "loss.dssim_weight 10.0 -> 1.0"]
    training = load_checkpoint(ws.model_dir("sae")).model_info["training"]
    assert training["loss"]["dssim_weight"] == 1.0 and training["loss"]["pixel"] == "mse"
    assert training["settings"]["lr"] == 5e-4


def test_a_preset_turns_its_loss_options_on_for_a_new_model_only(train_ws, registry, cpu):
    sae = registry.load("model", "sae")
    assert sae.PRESET_TRAINING["full"].loss["lpips_weight"] > 0
    assert "quick" not in sae.PRESET_TRAINING          # quick stays pixel + DSSIM (benchmarks/results/train_fit.json)
    ws = Workspace(train_ws)
    request = dataclasses.replace(tiny_request(1), preset="full", init="none")     # TINY sizes override the preset's
    prepared = prepare_training(request, ws, registry, cpu)
    assert prepared.run.step_module.config.lpips_weight == sae.PRESET_TRAINING["full"].loss["lpips_weight"]
    assert prepared.run.step_module.perceptual is not None
    off = dataclasses.replace(request, loss_options={"lpips_weight": "0"})
    assert prepare_training(off, ws, registry, cpu).run.step_module.perceptual is None


def test_quick128_mirrors_only_the_destination_faces_unless_asked(train_ws, registry, cpu):
    ws = Workspace(train_ws)

    def dataset(preset, **sample):
        request = dataclasses.replace(tiny_request(1), preset=preset, init="none", sample_options=sample)
        return prepare_training(request, ws, registry, cpu).dataset

    def flips(data):
        return data._configs["src"].flip, data._configs["dst"].flip

    quick128 = dataset("quick128")
    assert flips(quick128) == (False, True), "the preset's own default (DeepFaceLab's random_src_flip off)"
    assert (quick128.config.pose_warp, quick128.config.pose_warp_axes) == (6.0, "pitch"), "its pitch-only pose warp"
    assert flips(dataset("quick128", src_flip="true")) == (True, True), "the user's -O wins"
    assert flips(dataset("quick")) == (True, True), "other presets keep mirroring both sides"
    # full (SAEHD liae-ud) is too large to build here: its declared training defaults are SAEHD's, src_flip off too
    assert registry.load("model", "sae").PRESET_TRAINING["full"].sample == {"src_flip": False}


def test_the_batch_probe_changes_no_state_and_training_after_it_is_the_same(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(2, name="probed"), ws, registry, cpu)       # a resumed model: optimiser state too
    run_training(tiny_request(2, name="plain"), ws, registry, cpu)
    prepared = prepare_training(tiny_request(4, name="probed", loss_options={"gan_weight": "0.1"}), ws, registry, cpu)
    run = prepared.run
    before = {k: v.clone() for k, v in run.model.state_dict().items()}
    moments = {i: {k: v.clone() for k, v in s.items()} for i, s in run.optimizer.state_dict()["state"].items()}
    rng = torch.get_rng_state()
    loader = run.batches
    choice = probe_batch(run, tiled_samples(prepared.dataset, run.device), probe_step(LossConfig()),
                         limit=6)
    assert choice.batch == 6 and "capped at 6" in choice.why
    assert all(torch.equal(before[k], v) for k, v in run.model.state_dict().items())
    after = run.optimizer.state_dict()["state"]
    assert all(torch.equal(moments[i][k], after[i][k]) for i in moments for k in moments[i])
    assert torch.equal(rng, torch.get_rng_state())
    assert all(p.grad is None for p in run.model.parameters())
    assert run.batches is loader and prepared.dataset._reader is None     # the probe read a copy
    prepared.train()
    run_training(tiny_request(4, name="plain", loss_options={"gan_weight": "0.1"}), ws, registry, cpu)
    assert weights_equal(ws.model_dir("probed"), ws.model_dir("plain"))


def test_batch_auto_on_a_cpu_follows_the_resolution_and_is_stored(train_ws):
    assert [cpu_batch(r).batch for r in (64, 96, 128, 256)] == [8, 3, 2, 2]
    args = ["train", "--iters", "1", "--batch", "auto", "--seed", "1", "--preview-every", "0", "--workers", "0",
            *tiny_cli_options()]
    result = run_cli(train_ws, *args)
    assert result.exit_code == 0, result.output
    assert "batch auto on cpu: 8" in result.output
    trainer = json.loads((train_ws / "models" / "sae" / "trainer.json").read_text())
    assert trainer["batch"] == 8 and trainer["samples"] == 8
    result = run_cli(train_ws, "train", "--batch", "0", "--iters", "1")
    assert result.exit_code == 2 and "neither a whole number of at least 1 nor 'auto'" in result.output


def test_threads_and_workers_follow_the_cores():
    assert plan_training(8, cuda=False) == plan_training(8, False, 0, None)
    assert (plan_training(8, False).threads, plan_training(8, False).workers) == (7, 1)
    assert (plan_training(2, False).threads, plan_training(2, False).workers) == (2, 1)
    assert (plan_training(1, False).threads, plan_training(1, False).workers) == (1, 0)
    assert (plan_training(16, True).threads, plan_training(16, True).workers) == (12, 4)
    asked = plan_training(8, False, threads=3, workers=2)
    assert (asked.threads, asked.workers) == (3, 2)
    assert asked.describe("cpu") == "cpu: 8 cores -> 3 torch threads (asked), 2 loader workers (asked)"
    assert plan_training(2, False).describe("cpu") == "cpu: 2 cores -> 2 torch threads, 1 loader worker"


def test_train_says_what_it_chose_for_the_cores(train_ws, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")          # the environment's count is kept, as --threads is
    result = run_cli(train_ws, "train", "--iters", "1", "--batch", "2", "--seed", "1", "--preview-every", "0",
                     *tiny_cli_options())
    assert result.exit_code == 0, result.output
    plan = plan_training(usable_cores(), cuda=False, threads=1)
    assert result.output.splitlines()[0] == plan.describe("cpu")
    assert plan.describe("cpu").endswith(f"1 torch thread (asked), {plan.workers} loader worker"
                                         f"{'' if plan.workers == 1 else 's'}")
    assert torch.get_num_threads() == 1

"""A --minutes run's cosine decay ends with its time: planned from its own speed, then a pure function."""
from __future__ import annotations

import dataclasses
import json

import pytest

from faceswap.train import budget
from faceswap.train.budget import PROBE_STEPS, REPLAN_STEPS, BudgetPlan, needs_plan, schedule_of
from faceswap.train.loop import TrainSettings, learning_rate
from faceswap.train.session import prepare_training
from faceswap.train.stored import resolve_settings
from faceswap.workspace import Workspace
from tiny import tiny_request

COSINE = TrainSettings(lr=1e-3, lr_schedule="cosine", warmup=10, minutes=1.0).with_defaults()


def test_the_plan_counts_the_iterations_the_time_left_holds():
    plan = BudgetPlan(start_iteration=5, started=0.0, minutes=1.0)
    settings, now = COSINE, 0.0
    for iteration in range(6, 6 + PROBE_STEPS + 1):
        now = 3.0 if iteration == 6 else now + 0.5        # a slow first step, then 2 steps a second
        settings = plan.after_step(settings, iteration, now)
    # planned after the timed steps at t = 18 s: 42 s left at 2 it/s
    assert settings.schedule_span == (5, 6 + PROBE_STEPS + 84)
    assert plan.after_step(settings, 6 + PROBE_STEPS + 1, now + 0.5) is settings    # the next plan is due later


def _steps(plan, settings, first, count, now, seconds_each):
    for iteration in range(first, first + count):
        now += seconds_each
        settings = plan.after_step(settings, iteration, now)
    return settings, now


def _progress(settings, iteration):
    start, end = settings.schedule_span
    return (iteration - start) / (end - start)


def test_new_plans_follow_the_speed_but_never_back_up_the_decay():
    plan = BudgetPlan(start_iteration=0, started=0.0, minutes=2.0)
    settings, now = _steps(plan, COSINE, 1, PROBE_STEPS + 1, 0.0, 0.5)         # planned at 2 it/s
    first_end = settings.schedule_span[1]
    settings, now = _steps(plan, settings, PROBE_STEPS + 2, REPLAN_STEPS, now, 1.0)   # the machine got busy
    iteration = PROBE_STEPS + 1 + REPLAN_STEPS
    assert settings.schedule_span[1] < first_end                                 # the decay ends sooner
    before = _progress(settings, iteration)
    settings, now = _steps(plan, settings, iteration + 1, REPLAN_STEPS, now, 0.05)    # and then quiet again
    iteration += REPLAN_STEPS
    assert settings.schedule_span[1] > first_end - 40                            # the end moved out again ...
    assert _progress(settings, iteration) >= before                              # ... without raising the rate


def test_the_rate_decays_over_the_span_and_stays_at_its_floor():
    settings = dataclasses.replace(COSINE, schedule_span=(100, 300))
    assert learning_rate(settings, 100) == pytest.approx(1e-3)          # a resumed run: past its warm-up
    assert learning_rate(settings, 200) == pytest.approx(0.55e-3)
    assert learning_rate(settings, 300) == pytest.approx(1e-4)
    assert learning_rate(settings, 900) == pytest.approx(1e-4)
    assert learning_rate(COSINE, 500) == pytest.approx(1e-3)            # not planned yet: no decay


def test_only_a_time_budget_without_an_iteration_target_is_planned():
    assert needs_plan(COSINE)
    assert not needs_plan(dataclasses.replace(COSINE, iters=50))
    assert not needs_plan(dataclasses.replace(COSINE, lr_schedule="constant"))
    assert not needs_plan(dataclasses.replace(COSINE, minutes=0.0))


def test_auto_decays_a_minutes_run_and_keeps_an_iteration_target_constant():
    auto = TrainSettings(lr=1e-3, minutes=1.0).with_defaults()
    assert auto.lr_schedule == "auto" and schedule_of(auto) == "cosine" and needs_plan(auto)
    assert learning_rate(dataclasses.replace(auto, schedule_span=(0, 400)), 400) == pytest.approx(1e-4)
    for target in (dataclasses.replace(auto, iters=400), dataclasses.replace(auto, minutes=0.0)):
        assert schedule_of(target) == "constant" and not needs_plan(target)
        assert learning_rate(target, 0) == learning_rate(target, 399) == 1e-3     # no warm-up either, as before


def test_a_minutes_run_ends_near_the_floor_of_its_decay(train_ws, registry, cpu, monkeypatch):
    monkeypatch.setattr(budget, "PROBE_STEPS", 5)        # few steps: a busy machine trains the tiny model slowly
    monkeypatch.setattr(budget, "REPLAN_STEPS", 10)
    request = tiny_request(0, name="budget")
    request = dataclasses.replace(request, settings=dataclasses.replace(
        request.settings, iters=0, minutes=0.15, lr_schedule="cosine", warmup=5))
    prepared = prepare_training(request, Workspace(train_ws), registry, cpu)
    prepared.train()
    run = prepared.run
    start, end = run.settings.schedule_span
    assert start == 0 and end > 5
    # the step the loop ran last used the decayed rate (the timing of a shared machine moves where in the decay)
    assert run.optimizer.param_groups[0]["lr"] < 0.8 * run.settings.lr
    logged = [json.loads(line)["lr"] for line in (prepared.folder / "loss.jsonl").read_text().splitlines()]
    assert logged[-1] == pytest.approx(run.optimizer.param_groups[0]["lr"], rel=1e-3) and max(logged) > logged[-1]


def test_a_new_small_model_decaying_its_rate_starts_from_twice_the_constant_default():
    asked = TrainSettings(minutes=30.0)
    decayed = resolve_settings(asked, {}, 0, None, 128, [])
    held = resolve_settings(dataclasses.replace(asked, minutes=0.0, iters=500), {}, 0, None, 128, [])
    assert (decayed.lr, held.lr) == (1e-3, 5e-4)
    assert resolve_settings(asked, {}, 0, 5e-5, 128, []).lr == 5e-5                  # a preset's own rate
    assert resolve_settings(asked, {"lr": 5e-4, "lr_schedule": "auto"}, 8, None, 128, []).lr == 5e-4   # stored
    assert resolve_settings(asked, {}, 0, None, 256, []).lr == 5e-5                   # large models: as DeepFaceLab


def test_a_default_rate_is_chosen_again_when_the_model_resumes(train_ws, registry, cpu):
    """A model a --minutes run started (decaying from 1e-3) resumes without a budget at 5e-4, not 1e-3 held constant."""
    from faceswap.train.checkpoint import read_model_info
    from faceswap.train.session import run_training

    ws = Workspace(train_ws)
    request = tiny_request(0, name="budgeted")
    run_training(dataclasses.replace(request, settings=TrainSettings(batch=4, minutes=0.03)), ws, registry, cpu)
    stored = read_model_info(ws.model_dir("budgeted"))["training"]["settings"]
    assert stored["lr"] is None and stored["lr_schedule"] == "auto"
    held = prepare_training(dataclasses.replace(request, settings=TrainSettings(iters=1000)), ws, registry, cpu)
    decaying = prepare_training(dataclasses.replace(request, settings=TrainSettings(minutes=5.0)), ws, registry, cpu)
    assert (held.run.settings.lr, decaying.run.settings.lr) == (5e-4, 1e-3)
    given = prepare_training(dataclasses.replace(request, settings=TrainSettings(iters=1000, lr=2e-4)), ws, registry,
                             cpu)
    assert given.run.settings.lr == 2e-4 and not given.run.settings.lr_by_default

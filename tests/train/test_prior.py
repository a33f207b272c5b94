"""Face priors: --pretrain trains one on many face sets, --init starts a new model from it."""
from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors import safe_open

from cliruns import error_lines, run_cli
from faceswap.errors import ModelError
from faceswap.train.checkpoint import load_checkpoint
from faceswap.train.prior import read_prior_file, write_prior_file
from faceswap.train.session import TrainRequest, prepare_training
from faceswap.weights import locate
from faceswap.workspace import Workspace
from tiny import TINY, tiny_cli_options, tiny_request


@pytest.fixture
def prior_ws(train_ws):
    """The two real face sets and a tiny prior pretrained 3 iterations on both of them."""
    result = run_cli(train_ws, "train", "--pretrain", "--faces", "src", "--faces", "dst", "--iters", "3",
                     "--batch", "2", "--workers", "0", "--preview-every", "0", "--init", "none", *tiny_cli_options())
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if "src and dst both use" in line]
    return train_ws


def weights(folder) -> dict[str, torch.Tensor]:
    return load_checkpoint(folder).weights


def test_pretrain_makes_a_prior_every_decoder_learned_from_every_face(prior_ws):
    info = json.loads((prior_ws / "models" / "sae-prior" / "model.json").read_text())
    assert info["pretrain"] is True and info["facesets"] == {"src": ["src", "dst"], "dst": ["src", "dst"]}
    assert info["init"] == {"source": "none"}


def test_init_starts_a_new_model_from_the_prior(prior_ws, registry, cpu):
    request = tiny_request(1, name="pair", init="sae-prior")
    prepared = prepare_training(request, Workspace(prior_ws), registry, cpu)
    prior = weights(prior_ws / "models" / "sae-prior")
    started = prepared.run.model.state_dict()
    assert prior.keys() == started.keys() and all(torch.equal(prior[k], started[k]) for k in prior)
    assert "sae-prior" in prepared.note
    scratch = prepare_training(tiny_request(1, name="scratch", init="none"), Workspace(prior_ws), registry, cpu)
    assert not torch.equal(scratch.run.model.state_dict()["encoder.0.0.weight"], prior["encoder.0.0.weight"])


def test_init_of_another_architecture_is_one_clear_line(prior_ws):
    other = [*tiny_cli_options(), "-O", f"model.d_dims={TINY['d_dims'] * 2}"]
    result = run_cli(prior_ws, "train", "--name", "wide", "--init", "sae-prior", "--iters", "1", *other)
    assert result.exit_code == 1
    (line,) = error_lines(result.output)
    assert re.search(r"--init sae-prior is a prior of another architecture \(d_dims 8 vs 16\)", line), line
    assert not (prior_ws / "models" / "wide" / "model.json").exists()


def test_prior_file_round_trips_and_a_damaged_one_is_refused(prior_ws, tmp_path, registry, cpu):
    out = tmp_path / "prior.safetensors"
    digest = write_prior_file(prior_ws / "models" / "sae-prior", out, {"data": "two test face sets"})
    prior = read_prior_file(out)
    assert prior.sha256 == digest and prior.plugin == "sae" and prior.options["d_dims"] == TINY["d_dims"]
    assert all(v.dtype == torch.float16 for v in prior.weights.values() if v.is_floating_point())
    prepared = prepare_training(tiny_request(1, name="from_file", init=str(out)), Workspace(prior_ws), registry, cpu)
    start = prepared.run.model.state_dict()["encoder.0.0.weight"]
    assert torch.allclose(start, prior.weights["encoder.0.0.weight"].float())
    out.write_bytes(out.read_bytes()[:-100])
    with pytest.raises(ModelError, match=re.escape(str(out))):
        read_prior_file(out)


def test_auto_init_without_a_fitting_shipped_prior_trains_from_scratch(train_ws, registry, cpu):
    prepared = prepare_training(TrainRequest(**{**vars(tiny_request(1)), "init": "auto"}), Workspace(train_ws),
                                registry, cpu)
    assert prepared.note.startswith("training from scratch")


def test_a_new_quick_model_starts_from_the_shipped_prior(train_ws, registry, cpu):
    sae = registry.load("model", "sae")
    path = locate(sae.PRIORS["quick"])                 # sha256-checked against the plugin's record
    shipped = read_prior_file(path)
    with safe_open(str(path), "pt") as prior_file:
        data = prior_file.metadata()["data"]
    assert "except aoc__, katie_hill__" in data        # the evaluation pair was never seen
    request = TrainRequest(**{**vars(tiny_request(1, name="quick")), "model_options": {}, "preset": "quick"})
    prepared = prepare_training(request, Workspace(train_ws), registry, cpu)
    assert prepared.note.startswith("starting from the shipped quick face prior")
    start = prepared.run.model.state_dict()
    assert all(torch.equal(start[k], v.float()) for k, v in shipped.weights.items())


def test_init_of_a_prior_without_an_architecture_knob_is_one_clear_line(prior_ws):
    for knob, said in (("archi=liae", "archi df vs liae"), ("pixel_norm=true", "pixel_norm False vs True"),
                       ("double_res=true", "double_res False vs True")):
        result = run_cli(prior_ws, "train", "--name", "knob", "--init", "sae-prior", "--iters", "1",
                         *tiny_cli_options(), "-O", f"model.{knob}")
        assert result.exit_code == 1
        (line,) = error_lines(result.output)
        assert f"--init sae-prior is a prior of another architecture ({said})" in line, line
        assert not (prior_ws / "models" / "knob" / "model.json").exists()


def test_a_double_res_model_grows_from_the_half_resolution_prior(train_ws, registry, cpu):
    """quick at 128 px with double_res + half_input, started from the 64 px quick prior, is that prior upscaled."""
    import torch.nn.functional as F

    from faceswap.options import build_options
    from faceswap.train.prior import apply_prior

    sae = registry.load("model", "sae")
    grown_options = {"resolution": "128", "double_res": "true", "half_input": "true"}
    request = TrainRequest(**{**vars(tiny_request(1, name="grown")), "model_options": grown_options,
                              "preset": "quick", "init": str(locate(sae.PRIORS["quick"]))})
    prepared = prepare_training(request, Workspace(train_ws), registry, cpu)
    assert prepared.note.endswith("grown to these options "
                                  "(resolution 64 vs 128, double_res False vs True, half_input False vs True)")
    small = sae(build_options(sae.Options, sae.PRESETS["quick"], "sae")).eval()
    apply_prior(small, read_prior_file(locate(sae.PRIORS["quick"])))
    grown = prepared.run.model.eval()
    faces = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for decoder in (0, 1):
            rgb, mask = grown.decode(grown.encode(faces).code, decoder)
            rgb0, mask0 = small.decode(small.encode(F.avg_pool2d(faces, 2)).code, decoder)
            assert torch.allclose(rgb, F.interpolate(rgb0, scale_factor=2), atol=1e-5)
            assert torch.allclose(mask, F.interpolate(mask0, scale_factor=2), atol=1e-5)
    info = prepared.run.model.options
    assert info.resolution == 128 and info.double_res and info.half_input


@pytest.mark.parametrize("preset, options", [("quick128", {}),
                                             ("quick", {"resolution": "128", "double_res": "true", "half_input": "true"})])
def test_a_new_quick128_model_starts_from_its_own_shipped_prior(train_ws, registry, cpu, preset, options):
    """quick128 ships a prior pretrained at 128 px: a new model of its architecture is that prior exactly,
    whether it is asked for by the preset or by the options."""
    request = TrainRequest(**{**vars(tiny_request(1, name="q128")), "model_options": options, "preset": preset})
    prepared = prepare_training(request, Workspace(train_ws), registry, cpu)
    assert prepared.note.startswith("starting from the shipped quick128 face prior (--init none"), prepared.note
    model = prepared.run.model
    assert model.options.resolution == 128 and model.options.double_res and model.options.half_input
    sae = registry.load("model", "sae")
    prior = read_prior_file(locate(sae.PRIORS["quick128"]))
    assert sae.PRIORS["quick128"].filename != sae.PRIORS["quick"].filename
    state = model.state_dict()
    assert set(prior.weights) == set(state)
    for key, value in prior.weights.items():
        assert torch.equal(state[key], value.to(state[key].dtype)), key

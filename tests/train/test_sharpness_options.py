"""DeepFaceLab's sharpness and likeness terms: patch GAN, true-face latent discriminator,
train-time colour transfer and blur-out-mask. Each is off by default, trains, does what it
says, resumes bit-exactly, and stays out of the model's weights."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from conftest import VIDEO, cut
from faceswap.cli.main import cli
from faceswap.options import build_options
from faceswap.train.adversarial import Adversary
from faceswap.train.losses import LossConfig
from faceswap.train.checkpoint import ADVERSARY_FILE, load_checkpoint
from faceswap.train.prior import read_prior_file, write_prior_file
from faceswap.train.sample_filters import lab_stats
from faceswap.train.samples import FacePairDataset, SampleConfig, load_face, make_sample
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import tiny_request

ADVERSARIAL = {"gan_weight": "0.1", "gan_start": "2", "true_face_weight": "0.01"}
FILTERS = {"color_transfer": "rct", "blur_out_mask": "true"}
PLAIN = dict(rotation=0, scale=0, shift=0, flip=False, warp=0, colour=0)


def logged(folder):
    return [json.loads(line) for line in (folder / "loss.jsonl").read_text().splitlines()]


def faces(root, side):
    return sorted((root / "facesets" / side / "faces").glob("*.png"))


def test_gan_term_starts_at_gan_start_and_discriminators_stay_out_of_the_weights(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(4, loss_options=ADVERSARIAL), ws, registry, cpu)
    folder = ws.model_dir("sae")
    entries = logged(folder)
    assert [("src_gan" in e, "disc_gan" in e) for e in entries] == [(False, False)] * 2 + [(True, True)] * 2
    assert all("true_face" in e and "disc_true_face" in e for e in entries)
    # the model's total leaves the discriminators' own terms out
    last = entries[-1]
    assert last["total"] == pytest.approx(sum(v for k, v in last.items()
                                              if k not in ("iteration", "total", "lr") and not k.startswith("disc_")),
                                          abs=1e-4)
    checkpoint = load_checkpoint(folder)
    model_keys = set(registry.create("model", "sae", checkpoint.model_info["options"], cpu).state_dict())
    assert set(checkpoint.weights) == model_keys
    assert {k.split(".")[0] for k in checkpoint.adversary} == {"patch", "code"}
    assert set(load_file(folder / ADVERSARY_FILE)) >= {f"weights.{k}" for k in checkpoint.adversary}
    assert checkpoint.adversary_optimizer["state"], "the discriminators' optimiser state was not saved"


def test_each_discriminator_term_moves_only_its_own_side():
    config = build_options(LossConfig, {"gan_weight": "1", "true_face_weight": "1"}, "loss")
    adversary = Adversary(config, (8, 4, 4))
    fake, real = torch.rand(2, 3, 32, 32, requires_grad=True), torch.rand(2, 3, 32, 32)
    dst_code, src_code = torch.rand(2, 8, 4, 4, requires_grad=True), torch.rand(2, 8, 4, 4)
    terms = {**adversary.patch_terms({"src": (fake, real)}), **adversary.code_terms(src_code, dst_code)}
    for name, value in terms.items():
        adversary.zero_grad(set_to_none=True)
        fake.grad = dst_code.grad = None
        value.backward()
        moved_model = fake.grad is not None or dst_code.grad is not None
        moved_disc = any(p.grad is not None and p.grad.abs().sum() > 0 for p in adversary.parameters())
        assert (moved_model, moved_disc) == ((False, True) if name.startswith("disc_") else (True, False)), name


def test_off_by_default_and_no_adversary_file(train_ws, registry, cpu):
    ws = Workspace(train_ws)
    run_training(tiny_request(2), ws, registry, cpu)
    folder = ws.model_dir("sae")
    assert not (folder / ADVERSARY_FILE).exists()
    assert not any(k.startswith(("disc_", "true_face")) or k.endswith("_gan") for e in logged(folder) for k in e)


def test_every_option_on_resumes_bit_exactly(train_ws, registry, cpu):
    ws = Workspace(train_ws)

    def request(iters, name):
        return tiny_request(iters, name=name, loss_options=ADVERSARIAL, sample_options=FILTERS)

    run_training(request(5, "straight"), ws, registry, cpu)
    run_training(request(3, "split"), ws, registry, cpu)        # stops after the GAN started
    run_training(tiny_request(5, name="split"), ws, registry, cpu)      # the options are stored with the model
    a, b = load_checkpoint(ws.model_dir("straight")), load_checkpoint(ws.model_dir("split"))
    assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)
    assert all(torch.equal(a.adversary[k], b.adversary[k]) for k in a.adversary)
    for index, state in a.adversary_optimizer["state"].items():
        other = b.adversary_optimizer["state"][index]
        assert all(torch.equal(state[k], other[k]) for k in state if torch.is_tensor(state[k]))
    assert logged(ws.model_dir("straight"))[-1] == logged(ws.model_dir("split"))[-1]


def test_turning_the_gan_on_later_starts_fresh_discriminators(train_ws, registry, cpu, caplog):
    ws = Workspace(train_ws)
    run_training(tiny_request(2), ws, registry, cpu)
    run_training(tiny_request(4, loss_options={"gan_weight": "0.1"}), ws, registry, cpu)
    assert "discriminators start afresh" in caplog.text
    assert "src_gan" in logged(ws.model_dir("sae"))[-1]
    run_training(tiny_request(5, loss_options={"gan_weight": "0"}), ws, registry, cpu)   # off again: the file goes
    assert not (ws.model_dir("sae") / ADVERSARY_FILE).exists()
    assert load_checkpoint(ws.model_dir("sae")).adversary is None


def test_colour_transfer_moves_source_samples_to_destination_colours(facesets_root):
    config = SampleConfig(64, 1.6, **PLAIN)
    src, dst = faces(facesets_root, "src"), faces(facesets_root, "dst")
    rct = FacePairDataset(src, dst, SampleConfig(64, 1.6, **PLAIN, color_transfer="rct"), seed=3)
    none = FacePairDataset(src, dst, config, seed=3)
    moved = 0
    for index in range(4):
        with_ct, without = rct[index], none[index]
        assert all(np.array_equal(with_ct["dst"][k], without["dst"][k]) for k in without["dst"])
        mask = without["src"]["mask"][0]
        before = lab_stats(without["src"]["target"].transpose(1, 2, 0), mask)[0]
        after = lab_stats(with_ct["src"]["target"].transpose(1, 2, 0), mask)[0]
        reference = load_face(dst[np.random.default_rng([3, index, 2]).integers(len(dst))], config)
        goal = lab_stats(reference.image.astype(np.float32) / 255, reference.mask.astype(np.float32) / 255)[0]
        assert np.linalg.norm(after - goal) < 0.3 * np.linalg.norm(before - goal)
        moved += np.linalg.norm(after - before) > 1.0          # Lab units: a visible shift
    assert moved >= 2


def test_src_flip_off_mirrors_destination_faces_only(facesets_root):
    src, dst = faces(facesets_root, "src"), faces(facesets_root, "dst")
    only_flip = dict(PLAIN, flip=True)
    both = FacePairDataset(src, dst, SampleConfig(64, 1.6, **only_flip), seed=4)
    dst_only = FacePairDataset(src, dst, SampleConfig(64, 1.6, **only_flip, src_flip=False), seed=4)
    plain = FacePairDataset(src, dst, SampleConfig(64, 1.6, **PLAIN), seed=4)

    def mirrored(dataset, side, index):
        target, straight = dataset[index][side]["target"], plain[index][side]["target"]
        if np.array_equal(target, straight):
            return False
        # the same crop mirrored about the crop's edge (x -> size - x: one pixel off the array's mirror)
        assert np.abs(target[:, :, 1:] - straight[:, :, ::-1][:, :, :-1]).max() < 0.02
        return True

    count = 12
    assert sum(mirrored(both, "src", i) for i in range(count)) >= 3
    assert sum(mirrored(dst_only, "src", i) for i in range(count)) == 0
    assert sum(mirrored(dst_only, "dst", i) for i in range(count)) >= 3


def test_blur_out_mask_keeps_the_face_and_blurs_the_background(facesets_root):
    face = load_face(faces(facesets_root, "src")[0], SampleConfig(64, 1.6))
    plain = make_sample(face, SampleConfig(64, 1.6), np.random.default_rng(5))
    blurred = make_sample(face, SampleConfig(64, 1.6, blur_out_mask=True), np.random.default_rng(5))
    mask = plain["mask"][0]
    inside, outside = mask == 1.0, mask == 0.0
    assert inside.sum() > 500 and outside.sum() > 500
    assert np.array_equal(blurred["target"][:, inside], plain["target"][:, inside])
    change = np.abs(blurred["target"][:, outside] - plain["target"][:, outside]).mean()
    assert change > 0.01
    detail = lambda img: np.abs(np.diff(img, axis=2))[:, outside[:, 1:] & outside[:, :-1]].mean()  # noqa: E731
    assert detail(blurred["target"]) < 0.5 * detail(plain["target"])


def test_merge_export_and_priors_ignore_the_discriminators(train_ws, registry, cpu, tmp_path):
    ws = Workspace(train_ws)
    run_training(tiny_request(3, loss_options={"gan_weight": "0.1", "gan_start": "1", "true_face_weight": "0.01"}),
                 ws, registry, cpu)
    runner = CliRunner()
    call = lambda *args: runner.invoke(cli, ["--workspace", str(train_ws), "--device", "cpu", *args])  # noqa: E731
    result = call("export", "sae", "--onnx")
    assert result.exit_code == 0, result.output
    clip = cut(VIDEO / "aoc__hdtf_wda_000.mp4", tmp_path / "clip5.mp4", start=0.0, frames=5)
    result = call("merge", str(clip), "--engine", "onnx", "--no-report", "--frames-out", str(tmp_path / "frames"))
    assert result.exit_code == 0, result.output
    assert "5 faces swapped" in result.output
    prior = write_prior_file(ws.model_dir("sae"), tmp_path / "prior.safetensors", {"data": "test"})
    assert prior and set(read_prior_file(tmp_path / "prior.safetensors").weights) == set(
        load_checkpoint(ws.model_dir("sae")).weights)
    run_training(tiny_request(1, name="started", init="sae"), ws, registry, cpu)    # --init from a GAN model
    assert load_checkpoint(ws.model_dir("started")).adversary is None


def test_edge_loss_is_zero_for_the_target_grows_with_blur_and_is_logged(train_ws, registry, cpu):
    from faceswap.train.losses import gradient_l1

    from faceswap.media.image import read_image

    face = torch.from_numpy(read_image(faces(train_ws, "src")[0]).copy()).permute(2, 0, 1)[None].float() / 255.0
    soft = torch.nn.functional.avg_pool2d(face, 3, stride=1, padding=1, count_include_pad=False)
    softer = torch.nn.functional.avg_pool2d(face, 5, stride=1, padding=2, count_include_pad=False)
    assert gradient_l1(face, face) == 0
    assert 0 < gradient_l1(soft, face) < gradient_l1(softer, face)
    ws = Workspace(train_ws)
    run_training(tiny_request(2, loss_options={"edge_weight": "2"}), ws, registry, cpu)
    entries = logged(ws.model_dir("sae"))
    assert all(e["src_edge"] > 0 and e["dst_edge"] > 0 for e in entries)


def test_antialiased_patch_discriminator_cannot_see_a_two_pixel_checkerboard(train_ws):
    from faceswap.media.image import read_image
    from faceswap.train.adversarial import PatchDiscriminator

    face = torch.from_numpy(read_image(faces(train_ws, "src")[0]).copy()).permute(2, 0, 1)[None].float() / 255.0
    size = face.shape[-1]
    checker = ((torch.arange(size)[:, None] + torch.arange(size)[None, :]) % 2 - 0.5) * 0.1
    seen = {}
    for antialias in (False, True):
        torch.manual_seed(0)
        disc = PatchDiscriminator(16, antialias)
        inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))      # away from the padded border
        seen[antialias] = (disc(face) - disc(face + checker))[inner].abs().max().item()
        assert set(disc.state_dict()) == set(PatchDiscriminator(16).state_dict())   # checkpoints stay compatible
    assert seen[False] > 1e-3 and seen[True] < seen[False] / 100

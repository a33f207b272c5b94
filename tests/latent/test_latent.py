"""VAE, morphing, sampling and attribute vectors on real faces with a small, briefly trained VAE."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import load_file

from conftest import PHOTOS, VIDEO
from faceswap.cli.main import cli
from faceswap.latent.faces import load_face_input
from faceswap.latent.operations import interpolate, to_tensor
from faceswap.latent.quality import faces_found, masked_crop, masked_mse
from faceswap.media.image import read_image
from faceswap.media.pngmeta import read_json
from faceswap.media.probe import probe, read_tags
from faceswap.merge.outputs import PROVENANCE_KEY
from faceswap.train.loop import TrainSettings
from faceswap.train.session import TrainRequest, run_training
from faceswap.trained import load_trained_model
from faceswap.workspace import Workspace
from tiny import tiny_request

# 400 steps at beta 0.0005 was measured to both reconstruct (8 of 8 pairs, seeds 0 and 1) and sample faces
# (29 and 31 of 32 found); beta 0.002 at 300 steps collapsed to a mean face (3 of 8 pairs), beta 0 sampled no faces.
SMALL_VAE = {"resolution": 64, "latent_dims": 64, "e_dims": 16, "d_dims": 8, "d_mask_dims": 4,
             "kl_weight": 0.0005, "kl_warmup": 100}


# every test here but one shares a vae trained for minutes on 2 CPU cores
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vae_ws(tmp_path_factory, facesets_root, registry, cpu) -> Path:
    ws = tmp_path_factory.mktemp("vae_ws") / "ws"
    shutil.copytree(facesets_root / "facesets", ws / "facesets")
    request = TrainRequest(plugin="vae", src=("src", "dst"), dst=("src", "dst"), model_options=SMALL_VAE,
                           sample_options={"warp": 0.02}, settings=TrainSettings(batch=4, lr=2e-3, iters=400),
                           seed=0, preview_every=0, save_minutes=0, workers=0)
    run_training(request, Workspace(ws), registry, cpu)
    return ws


def run(ws: Path, *args: str):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", *args])


def _faces(ws: Path, side: str) -> list[Path]:
    return sorted((ws / "facesets" / side / "faces").glob("*.png"))


def test_generated_samples_are_faces_the_detector_finds(vae_ws, registry, cpu, tmp_path):
    result = run(vae_ws, "generate", "-n", "16", "--temperature", "0.5", "-o", str(tmp_path / "grid.png"))
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "grid.png").shape == (4 * 64, 4 * 64, 3)
    model, _ = load_trained_model(vae_ws / "models" / "vae", registry, cpu)
    with torch.no_grad():
        rgb, _ = model.decode(model.sample(32, 0.5, torch.Generator().manual_seed(1)), 0)
    assert rgb.shape == (32, 3, 64, 64) and 0 <= float(rgb.min()) and float(rgb.max()) <= 1
    flat = rgb.flatten(1)
    assert torch.cdist(flat, flat)[~torch.eye(32, dtype=bool)].min() > 0.5, "samples differ from each other"
    detector = registry.create("detector", "scrfd", {}, cpu)
    found = faces_found(detector, list((rgb.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)))
    # measured 29 of 32 (31 with seed 1); a VAE that collapsed or never learned faces finds 3-11
    assert found >= 20, f"the detector found a face in only {found} of 32 samples"


@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_morph_path_runs_from_a_to_b(vae_ws, registry, cpu, mode):
    model, _ = load_trained_model(vae_ws / "models" / "vae", registry, cpu)
    pairs = list(zip(_faces(vae_ws, "src"), _faces(vae_ws, "dst")))
    endpoints_ok = 0
    for path_a, path_b in pairs:
        (a, mask_a), (b, mask_b) = masked_crop(path_a, 64, 1.6), masked_crop(path_b, 64, 1.6)
        with torch.no_grad():
            codes = model.encode(torch.from_numpy(np.stack([a, b]))).code
            frames = model.decode(interpolate(codes[0], codes[1], 7, mode), 0)[0].numpy()
        first_ok = masked_mse(frames[0], a, mask_a) < masked_mse(frames[0], b, mask_a)
        last_ok = masked_mse(frames[-1], b, mask_b) < masked_mse(frames[-1], a, mask_b)
        endpoints_ok += first_ok and last_ok
        whole = np.ones_like(mask_a)
        to_a = [masked_mse(f, frames[0], whole) for f in frames]
        assert all(later > earlier for earlier, later in zip(to_a, to_a[1:])), f"{path_a.name}: {to_a}"
    # measured 8 of 8; one pair of look-alike frames may go either way on another CPU's arithmetic
    assert endpoints_ok >= len(pairs) - 1, f"only {endpoints_ok} of {len(pairs)} morphs start at A and end at B"


def test_morph_cli_writes_strips_and_animations_tagged_as_synthetic(vae_ws, tmp_path):
    a, b = str(_faces(vae_ws, "src")[0]), str(PHOTOS / "obama" / "obama.jpg")
    result = run(vae_ws, "morph", a, b, "--steps", "6", "-o", str(tmp_path / "m.png"))
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "m.png").shape == (64, 6 * 64, 3)
    assert "synthetic" in read_json(tmp_path / "m.png", PROVENANCE_KEY.encode())
    result = run(vae_ws, "morph", b, a, "--steps", "5", "--paste", "-o", str(tmp_path / "m.mp4"))
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "m.mp4").frame_count == 5
    assert "synthetic" in read_tags(tmp_path / "m.mp4")[PROVENANCE_KEY]
    frame = f"{VIDEO / 'katie_hill__hdtf_wda_000.mp4'}@10"          # a video frame as input
    assert run(vae_ws, "morph", frame, b, "-o", str(tmp_path / "m.gif")).exit_code == 0
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 9 and b"synthetic" in gif.info["comment"]


def test_morph_paste_replaces_only_the_face_of_a(vae_ws, tmp_path):
    photo = read_image(PHOTOS / "obama" / "obama.jpg")
    katie = str(_faces(vae_ws, "dst")[2])
    result = run(vae_ws, "morph", str(PHOTOS / "obama" / "obama.jpg"), katie, "--steps", "2", "--paste",
                 "--color", "mkl", "--blender", "laplacian", "-o", str(tmp_path / "p.png"))
    assert result.exit_code == 0, result.output
    pasted = read_image(tmp_path / "p.png")
    height, width = photo.shape[:2]
    assert pasted.shape == (height, 2 * width, 3)
    for frame in (pasted[:, :width], pasted[:, width:]):
        changed = np.any(frame != photo, axis=2)
        assert 0.01 < changed.mean() < 0.5, "the face, and only the face region, is replaced"
        assert not changed[:, :width // 8].any() and not changed[-height // 8:].any()
    # a face file as A is pasted into the full stored face, not the model-sized copy
    result = run(vae_ws, "morph", katie, str(PHOTOS / "obama" / "obama.jpg"), "--steps", "2", "--paste",
                 "-o", str(tmp_path / "f.png"))
    assert result.exit_code == 0, result.output
    side = read_image(katie).shape[0]                               # 128 here; the model's copy is ~97
    assert read_image(tmp_path / "f.png").shape == (side, 2 * side, 3)


def test_latent_commands_refuse_bad_arguments_before_any_work(vae_ws, tmp_path):
    a, b = str(_faces(vae_ws, "src")[0]), str(_faces(vae_ws, "dst")[0])
    cases = [
        (["morph", a, b, "-o", str(tmp_path / "m.jpg")], "must be a .png / .gif / .mp4"),
        (["morph", a, b, "--color", "mkl", "-o", str(tmp_path / "m.png")], "add --paste"),
        (["morph", a, b, "--paste", "--blender", "alhpa", "-o", str(tmp_path / "m.png")], "alpha"),
        (["morph", a, b, "--decoder", "1", "-o", str(tmp_path / "m.png")], "1 decoder(s)"),
        (["generate", "-o", str(tmp_path / "grid")], "must be a .png"),
        (["attribute", "--with", str(tmp_path), "--without", str(tmp_path), "--name", "../up"], "no folders"),
    ]
    for args, message in cases:
        result = run(vae_ws, *args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert not list(tmp_path.iterdir())


def test_morph_works_with_an_sae_model(vae_ws, registry, cpu, tmp_path):
    run_training(tiny_request(1), Workspace(vae_ws), registry, cpu)
    result = run(vae_ws, "morph", str(_faces(vae_ws, "src")[0]), str(_faces(vae_ws, "dst")[0]), "--model", "sae",
                 "--decoder", "1", "--steps", "3", "-o", str(tmp_path / "sae.png"))
    assert result.exit_code == 0, result.output
    generate = run(vae_ws, "generate", "--model", "sae", "-o", str(tmp_path / "g.png"))
    assert generate.exit_code == 1 and "cannot sample" in generate.output


def test_attribute_vector_moves_a_face_toward_the_with_folder(vae_ws, registry, cpu, tmp_path):
    src, dst = vae_ws / "facesets" / "src", vae_ws / "facesets" / "dst"
    made = run(vae_ws, "attribute", "--with", str(src), "--without", str(dst), "--name", "aoc")
    assert made.exit_code == 0, made.output
    assert (vae_ws / "models" / "vae" / "attributes" / "aoc.safetensors").is_file()
    katie = str(_faces(vae_ws, "dst")[3])
    applied = run(vae_ws, "attribute", "--apply", "aoc", "--alpha=-1,0,1,2", katie, "-o", str(tmp_path / "a.png"))
    assert applied.exit_code == 0, applied.output
    strip = read_image(tmp_path / "a.png").astype(np.float32) / 255
    cells = [strip[:, i * 64:(i + 1) * 64] for i in range(4)]
    model, _ = load_trained_model(vae_ws / "models" / "vae", registry, cpu)
    with_faces = [load_face_input(str(p), None, 64, 1.6).crop for p in _faces(vae_ws, "src")]
    with torch.no_grad():
        rebuilt, _ = model.decode(model.encode(to_tensor(with_faces, torch.device("cpu"))).code, 0)
    target = rebuilt.mean(0).permute(1, 2, 0).numpy()
    distance = [float(np.mean((cell - target) ** 2)) for cell in cells]      # alpha -1, 0, 1, 2
    assert distance[2] < distance[1] < distance[0]
    assert distance[3] < distance[1]


def test_vae_trains_from_the_command_line_with_previews_and_resume(facesets_root, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(facesets_root / "facesets", ws / "facesets")
    options = [arg for key, value in SMALL_VAE.items() for arg in ("-O", f"model.{key}={value}")]
    train = ["train", "--model", "vae", "--faces", "src", "--faces", "dst", "--batch", "2", "--workers", "0",
             "--preview-every", "2", "--seed", "3", *options]
    first = run(ws, *train, "--iters", "2")
    assert first.exit_code == 0, first.output
    folder = ws / "models" / "vae"
    assert sorted(p.name for p in (folder / "previews").glob("*.png")) == ["iter_0000002.png"]
    again = run(ws, *train, "--iters", "4")
    assert again.exit_code == 0, again.output
    rows = [json.loads(line) for line in (folder / "loss.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in rows][-2:] == [3, 4] and all("src_kl" in row for row in rows)
    weights = load_file(folder / "weights.safetensors")
    assert int(weights["steps"]) == 8          # the KL warm-up counter resumed: 4 steps x 2 face sets
    assert read_image(folder / "previews" / "iter_0000004.png").ndim == 3


def test_attribute_errors_are_one_line(vae_ws, tmp_path):
    result = run(vae_ws, "attribute", "--with", str(tmp_path))
    assert result.exit_code == 1 and "--without DIR and --name NAME" in result.output
    result = run(vae_ws, "attribute", "--apply", "missing", str(PHOTOS / "obama" / "obama.jpg"), "-o", "x.png")
    assert result.exit_code == 1 and "no attribute vector" in result.output

"""Issue 14.6: problems the user caused are one-line errors naming the file, never "faceswap hit a bug"."""
from __future__ import annotations

import hashlib
import json
import resource
import signal
import struct
import subprocess
import zlib

import pytest

from cliruns import error_lines, faceswap_cmd, run_cli
from faceswap.media.image import encode_image, read_image
from tiny import tiny_cli_options


def _limit_file_size(limit: int):
    """A child whose writes past ``limit`` bytes fail for real (EFBIG), as on a full disk."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "hit a bug" not in proc.stderr, proc.stderr
    [line] = error_lines(proc.stderr)
    return line


@pytest.mark.slow
def test_disk_full_while_extracting(tmp_path, talking_frames):
    ws = tmp_path / "ws"
    proc = subprocess.run(faceswap_cmd(ws, "extract", str(talking_frames), "--every", "12"), capture_output=True,
                          text=True, preexec_fn=_limit_file_size(20_000))
    line = _one_line_error(proc)
    assert "cannot write" in line and str(ws / "facesets" / "aoc25") in line and ".png" in line, line


@pytest.mark.slow
def test_disk_full_while_saving_a_model(train_ws):
    cmd = faceswap_cmd(train_ws, "train", "--iters", "2", "--batch", "2", "--workers", "0", "--preview-every", "0",
                       *tiny_cli_options())
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=_limit_file_size(60_000))
    line = _one_line_error(proc)
    assert "cannot write" in line and "weights.safetensors" in line, line


def test_truncated_weights_whose_recorded_hash_matches(model_ws, talking_frames):
    folder = model_ws / "models" / "sae"
    weights = folder / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    trainer = json.loads((folder / "trainer.json").read_text())
    trainer["sha256"]["weights.safetensors"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (folder / "trainer.json").write_text(json.dumps(trainer))
    result = run_cli(model_ws, "merge", str(talking_frames), "--preview-frame", "0")
    assert result.exit_code == 1, result.output
    [line] = error_lines(result.output)
    assert str(weights) in line and "not a valid safetensors file" in line, line


def _png_with_raw_metadata(image, text: bytes) -> bytes:
    png = encode_image(image, ".png")
    data = b"faceswap\x00\x00\x00\x00\x00" + text
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    return png[:33] + chunk + png[33:]


def test_deeply_nested_face_metadata(model_ws, talking_frames):
    assert run_cli(model_ws, "extract", str(talking_frames), "--every", "8").exit_code == 0
    face = sorted((model_ws / "facesets" / "aoc25" / "faces").glob("*.png"))[1]
    face.write_bytes(_png_with_raw_metadata(read_image(face), b'{"schema": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000
                                            + b"}"))
    result = run_cli(model_ws, "merge", str(talking_frames), "--preview-frame", "0")
    assert result.exit_code == 1, result.output
    [line] = error_lines(result.output)
    assert str(face) in line and "nested too deeply" in line, line


@pytest.mark.slow
def test_non_png_face_files_during_training_with_a_worker(train_ws):
    faces = sorted((train_ws / "facesets" / "dst" / "faces").glob("*.png"))
    jpeg = encode_image(read_image(faces[0]), ".jpg")
    bad = faces[:-1]        # JPEGs saved under face files' names; all but one, so the random draws surely meet one
    for face in bad:
        face.write_bytes(jpeg)
    def train(iters: int) -> subprocess.CompletedProcess:
        cmd = faceswap_cmd(train_ws, "train", "--iters", str(iters), "--batch", "4", "--workers", "1",
                           "--preview-every", "0", *tiny_cli_options())
        return subprocess.run(cmd, capture_output=True, text=True)

    proc = train(2)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if any(face.name in line for face in bad)]
    assert warnings and all("Traceback" not in w for w in warnings), proc.stderr
    assert "Traceback" not in proc.stderr
    for face in faces:                                    # every face of one side unusable: a clear stop
        face.write_bytes(jpeg)
    line = _one_line_error(train(4))
    assert "'dst'" in line and "no readable face" in line, line


def test_weights_of_an_older_model_version_name_the_versions(model_ws, registry, cpu):
    """A model made by an earlier sae whose layers differ (as liae's did before 1.1): the error says so."""
    from faceswap.errors import ModelError
    from faceswap.trained import load_trained_model

    folder = model_ws / "models" / "sae"
    info_path = folder / "model.json"
    info = json.loads(info_path.read_text())
    info["plugin_version"] = "0.9"
    info["options"]["ae_dims"] = info["options"]["ae_dims"] * 2     # what the old layers would now be built as
    info_path.write_text(json.dumps(info))
    with pytest.raises(ModelError) as caught:
        load_trained_model(folder, registry, cpu)
    message = str(caught.value)
    assert "\n" not in message and "sae 0.9" in message and "version 1.1" in message and str(folder) in message

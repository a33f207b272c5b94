"""ArcFaceNet: the w600k_mbf ONNX graph rebuilt in torch gives ORT's embeddings, and gradients."""
import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch
from conftest import PHOTOS
from faceswap_plugins.identity.arcface import ARCFACE_5, ARCFACE_MBF
from skimage import data

from faceswap.align.template import five_points
from faceswap.align.umeyama import umeyama
from faceswap.errors import ModelError
from faceswap.media.image import read_image
from faceswap.train.identity_net import ArcFaceNet, identity_loss
from faceswap.weights import locate

# astronaut, two photos of Obama, two of Biden
SOURCES = [None, "obama/obama.jpg", "obama/obama1.jpg", "biden/biden.jpg", "biden/biden2.jpg"]


@pytest.fixture(scope="module")
def net() -> ArcFaceNet:
    return ArcFaceNet()


@pytest.fixture(scope="module")
def faces(insightface_plugins):
    """Real faces aligned to the ArcFace 5-point template: ``(5, 3, 112, 112)`` in [0, 1], plus frames and landmarks."""
    images = [data.astronaut() if name is None else read_image(PHOTOS / name) for name in SOURCES]
    detections = insightface_plugins.detector.detect(images)
    landmarks = [found[0] for found in insightface_plugins.landmarker.landmarks(images, detections)]
    crops = [cv2.warpAffine(image, umeyama(five_points(lm.points), ARCFACE_5), (112, 112))
             for image, lm in zip(images, landmarks)]
    tensor = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
    return tensor, images, landmarks


def test_matches_onnxruntime(net, faces):
    x = torch.cat([faces[0], torch.rand(2, 3, 112, 112, generator=torch.Generator().manual_seed(0))])
    options = ort.SessionOptions()
    options.log_severity_level = 3      # the file declares batch 1; ORT warns on every larger batch
    session = ort.InferenceSession(str(locate(ARCFACE_MBF)), options, providers=["CPUExecutionProvider"])
    raw = session.run(None, {session.get_inputs()[0].name: (x.numpy() * 255 - 127.5) / 127.5})[0]
    expected = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    with torch.no_grad():
        got = net(x).numpy()
    assert got.shape == (7, 512)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.abs(got - expected).max() < 1e-4


def test_agrees_with_the_arcface_plugin(net, faces, insightface_plugins):
    tensor, images, landmarks = faces
    with torch.no_grad():
        got = net(tensor).numpy()
    assert np.abs(got - insightface_plugins.identity.embed(images, landmarks)).max() < 1e-4


def test_same_person_is_close_and_others_are_far(net, faces):
    tensor = faces[0]
    with torch.no_grad():
        emb = net(tensor)
        mirrored = net(tensor.flip(3))
    assert ((emb * mirrored).sum(1) > 0.9).all(), "a face and its mirror image are one identity"
    cos = emb @ emb.T
    assert cos[1, 2] > 0.5 and cos[3, 4] > 0.4, "two photos of one person"
    assert cos[0, 1:].abs().max() < 0.3 and cos[1:3, 3:5].abs().max() < 0.3, "different people"


def test_identity_loss_is_differentiable_and_frozen(net, faces):
    tensor = faces[0]
    assert not any(p.requires_grad for p in net.parameters())
    net.train()
    assert not net.training, "a loss network must stay in eval mode"
    with torch.no_grad():
        assert identity_loss(net, tensor, tensor).item() == pytest.approx(0.0, abs=1e-6)
    swapped = tensor[[1, 3]].clone().requires_grad_(True)          # Obama, Biden
    loss = identity_loss(net, swapped, tensor[[2, 4]])             # vs other photos of each
    loss.backward()
    assert 0.0 < loss.item() < 1.0
    assert torch.isfinite(swapped.grad).all() and swapped.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_wrong_input_size_is_refused(net):
    with pytest.raises(ValueError, match="112"):
        net(torch.zeros(1, 3, 128, 128))


def test_a_users_model_folder_must_hold_the_file(tmp_path):
    with pytest.raises(ModelError, match="no w600k_mbf.onnx"):
        ArcFaceNet(model_root=tmp_path)


def test_a_graph_with_other_operators_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Sigmoid", ["x"], ["y"])], "not_arcface",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 112, 112])])
    onnx.save(helper.make_model(graph), str(tmp_path / "w600k_mbf.onnx"))
    with pytest.raises(ModelError, match="ONNX op Sigmoid"):
        ArcFaceNet(model_root=tmp_path)
    (tmp_path / "w600k_mbf.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        ArcFaceNet(model_root=tmp_path)

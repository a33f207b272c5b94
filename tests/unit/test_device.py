import pytest

from faceswap.errors import InputError
from faceswap.runtime.device import resolve_device


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def test_cpu_and_auto_resolve():
    assert resolve_device("cpu").ort_providers == ["CPUExecutionProvider"]
    assert resolve_device("auto").name == ("cuda" if _has_cuda() else "cpu")
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("tpu")


@pytest.mark.skipif(_has_cuda(), reason="checks the message shown on machines without a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(InputError, match="no CUDA GPU is visible"):
        resolve_device("cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA GPU")
def test_onnx_plugins_really_run_on_cuda(registry, t1_image):
    device = resolve_device("cuda")
    detector = registry.create("detector", "scrfd", {}, device)
    assert "CUDAExecutionProvider" in detector._model.session.get_providers()
    assert len(detector.detect([t1_image])[0]) == 6

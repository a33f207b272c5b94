"""Shared fixtures: real media from ../shared/media, isolated workspaces and registries."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, ExtractPlugins, build_extract_plugins
from faceswap.faceset.store import FaceSet
from faceswap.media.ffmpeg_tool import ffmpeg_exe
from faceswap.media.image import read_image
from faceswap.registry import Registry
from faceswap.runtime.device import Device, resolve_device
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import tiny_request

REPO = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", REPO.parent / "shared" / "media"))
VIDEO = MEDIA / "video"
PHOTOS = MEDIA / "photos"
GROUP = MEDIA / "group"


def pytest_configure(config: pytest.Config) -> None:
    if not VIDEO.is_dir():
        raise pytest.UsageError(f"test media not found at {MEDIA}: put the shared media folder (video/, photos/, "
                                f"group/) there, or set FACESWAP_TEST_MEDIA=/path/to/media")


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test trusts drop-in plugins in a config folder of its own, never the user's."""
    folder = tmp_path / "faceswap-config"
    monkeypatch.setenv("FACESWAP_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.discover()


@pytest.fixture(scope="session")
def cpu() -> Device:
    return resolve_device("cpu")


@pytest.fixture(scope="session")
def insightface_plugins(registry: Registry, cpu: Device) -> ExtractPlugins:
    return build_extract_plugins(registry, ExtractChoice(), {}, cpu)


@pytest.fixture(scope="session")
def mediapipe_plugins(registry: Registry, cpu: Device) -> ExtractPlugins:
    choice = ExtractChoice("blazeface", "facemesh", ("hull",), None)
    return build_extract_plugins(registry, choice, {}, cpu)


@pytest.fixture(scope="session")
def t1_image() -> np.ndarray:
    """insightface's own test photo: six people, all faces visible."""
    import insightface

    return read_image(Path(insightface.__file__).parent / "data" / "images" / "t1.jpg")


@pytest.fixture(scope="session")
def talking_frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 25 frames of the AOC talking-head clip, as a short real video (with audio)."""
    out = tmp_path_factory.mktemp("clips") / "aoc25.mp4"
    cut(VIDEO / "aoc__hdtf_wda_000.mp4", out, start=0.0, frames=25)
    return out


def cut(source: Path, out: Path, start: float, frames: int, copy_audio: bool = True) -> Path:
    """Re-encode ``frames`` frames of a real clip from ``start`` seconds (fast, small)."""
    args = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-ss", f"{start}", "-i", str(source),
            "-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18"]
    args += ["-c:a", "aac", "-shortest"] if copy_audio else ["-an"]
    subprocess.run([*args, str(out)], check=True)
    return out


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def image_folder(tmp_path: Path):
    """Make a folder holding copies of the given real photos."""
    def make(*photos: Path) -> Path:
        folder = tmp_path / "photos"
        folder.mkdir(exist_ok=True)
        for photo in photos:
            shutil.copy(photo, folder / photo.name)
        return folder
    return make


@pytest.fixture(scope="session")
def facesets_root(tmp_path_factory, insightface_plugins) -> Path:
    """Small real face sets: 8 faces each of AOC ('src') and Katie Hill ('dst'), 128 px."""
    root = tmp_path_factory.mktemp("train_ws")
    for name, clip in (("src", "aoc__hdtf_wda_000.mp4"), ("dst", "katie_hill__hdtf_wda_000.mp4")):
        extract(VIDEO / clip, FaceSet(root / "facesets" / name), insightface_plugins,
                ExtractSettings(every=25, face_size=128))
    return root


@pytest.fixture
def train_ws(tmp_path, facesets_root) -> Path:
    """A workspace of its own holding copies of the two small face sets."""
    shutil.copytree(facesets_root / "facesets", tmp_path / "ws" / "facesets")
    return tmp_path / "ws"


@pytest.fixture(scope="session")
def model_ws_root(tmp_path_factory, facesets_root, registry, cpu) -> Path:
    """Face sets 'src' and 'dst' plus a tiny sae model trained 2 steps."""
    ws = tmp_path_factory.mktemp("reliability_ws") / "ws"
    shutil.copytree(facesets_root / "facesets", ws / "facesets")
    run_training(tiny_request(2), Workspace(ws), registry, cpu)
    return ws


@pytest.fixture
def model_ws(tmp_path, model_ws_root) -> Path:
    """A copy of ``model_ws_root`` of this test's own."""
    target = tmp_path / "ws"
    shutil.copytree(model_ws_root, target)
    return target


def side_by_side(left: Path, right: Path, out: Path, frames: int, height: int = 256) -> Path:
    """Two real clips side by side, each scaled to ``height`` pixels high, ``frames`` frames, no audio."""
    args = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(left), "-i", str(right),
            "-filter_complex", f"[0:v]scale=-2:{height}[a];[1:v]scale=-2:{height}[b];[a][b]hstack=inputs=2",
            "-frames:v", str(frames), "-an", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", str(out)]
    subprocess.run(args, check=True)
    return out


@pytest.fixture(scope="session")
def two_people_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real people talking at once: AOC (left half) and Katie Hill (right half), 50 frames, 512 x 256."""
    out = tmp_path_factory.mktemp("clips") / "two_people.mp4"
    return side_by_side(VIDEO / "aoc__hdtf_wda_000.mp4", VIDEO / "katie_hill__hdtf_wda_000.mp4", out, 50)


@pytest.fixture(scope="session")
def two_people_root(tmp_path_factory, two_people_clip, insightface_plugins) -> Path:
    """A workspace holding the face set 'two_people' of ``two_people_clip`` (128 px faces)."""
    root = tmp_path_factory.mktemp("people_ws")
    extract(two_people_clip, FaceSet(root / "facesets" / "two_people"), insightface_plugins,
            ExtractSettings(face_size=128))
    return root


@pytest.fixture(scope="session")
def foreman_root(tmp_path_factory, insightface_plugins) -> Path:
    """A workspace with face set 'foreman': Foreman's first 192 frames, a man turning his head to both sides.

    Frames 75-90 hold one steady turn from his face pointing to the image's right (yaw +31) to
    pointing to its left (yaw -27), checked by eye on a contact sheet.
    """
    root = tmp_path_factory.mktemp("foreman_ws")
    clip = cut(VIDEO / "foreman__cif_h264_conformance.mp4", root / "foreman.mp4", start=0, frames=192,
               copy_audio=False)
    extract(clip, FaceSet(root / "facesets" / "foreman"), insightface_plugins,
            ExtractSettings(face_size=96, min_size=20))
    return root

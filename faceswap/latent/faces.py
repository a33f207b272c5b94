"""Turn what a user points at (a photo, a face file, a video frame) into an aligned model crop."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceswap.align.template import face_matrix, recrop_matrix
from faceswap.align.warp import warp_to_face
from faceswap.errors import InputError, NoFaceError
from faceswap.extract.plugins import ExtractPlugins
from faceswap.extract.tracking import FaceFinder
from faceswap.faceset.store import read_face
from faceswap.media.image import is_image_file, read_image
from faceswap.media.pngmeta import read_json
from faceswap.media.video import open_source
from faceswap.train.samples import SampleConfig, load_face


@dataclass(frozen=True)
class FaceInput:
    """A face cropped for a model, and where it came from (for pasting back)."""

    crop: np.ndarray            # (R, R, 3) uint8
    image: np.ndarray           # the photo or frame it was cut from (the face file itself for face files)
    matrix: np.ndarray          # (2, 3) image -> crop


def load_face_input(spec: str, plugins: ExtractPlugins | None, resolution: int, coverage: float) -> FaceInput:
    """``spec``: a photo, a faceswap face file (PNG with a record), or ``video.mp4@N`` (frame N)."""
    # the last @ splits a frame number off (folder names may hold an @ of their own)
    path, _, frame_text = spec.rpartition("@") if "@" in spec and not Path(spec).exists() else (spec, "", "")
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if path.suffix.lower() == ".png" and _is_face_file(path):
        # shrunk with area filtering first, exactly as training samples are
        face = load_face(path, SampleConfig(resolution, coverage))
        crop = cv2.warpAffine(face.image, recrop_matrix(face.size, face.coverage, resolution, coverage),
                              (resolution, resolution), flags=cv2.INTER_LINEAR)
        image, record = read_face(path)             # full size, to paste into
        return FaceInput(crop, image, recrop_matrix(record.size, record.coverage, resolution, coverage))
    if frame_text:
        image = _video_frame(path, frame_text)
    elif is_image_file(path):
        image = read_image(path)
    else:
        raise InputError(f"{spec}: give a photo, a face file, or VIDEO@FRAME (e.g. clip.mp4@120)")
    if plugins is None:
        raise InputError(f"{spec}: finding a face in a photo needs the extract plugins")
    faces = FaceFinder(plugins, min_size=1, max_faces=1).find(image)
    if not faces:
        raise NoFaceError(f"no face found in {spec}")
    matrix = face_matrix(faces[0].landmarks.points, resolution, coverage)
    return FaceInput(warp_to_face(image, matrix, resolution), image, matrix)


def _is_face_file(path: Path) -> bool:
    try:
        return read_json(path) is not None
    except ValueError:
        return False


def _video_frame(path: Path, frame_text: str) -> np.ndarray:
    if not frame_text.isdigit():
        raise InputError(f"frame number after @ must be a whole number, got '{frame_text}'")
    index = int(frame_text)
    source = open_source(path)
    if index >= source.info.frame_count:
        raise InputError(f"{path} has {source.info.frame_count} frames; @{index} is past the end")
    return next(iter(source.frames(start=index))).image


def face_folder_inputs(folder: Path, plugins: ExtractPlugins | None, resolution: int,
                       coverage: float) -> list[np.ndarray]:
    """Crops of every face file or photo in ``folder`` (a face set's faces/ folder works too)."""
    folder = Path(folder)
    if (folder / "faces").is_dir():
        folder = folder / "faces"
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if is_image_file(p))
    crops = []
    for path in files:
        try:
            crops.append(load_face_input(str(path), plugins, resolution, coverage).crop)
        except NoFaceError:
            continue       # a photo without a face says nothing about the attribute
    if not crops:
        raise NoFaceError(f"no face found in any file of {folder}")
    return crops

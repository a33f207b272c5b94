"""The canonical face template and the coverage math that maps it to pixels.

Template units: the bounding box of the inner points (brows, eyes, nose, mouth:
iBUG 17-67) is centred on (0, 0) and 1.0 wide; the chin sits near y = 0.75. A face
crop of ``coverage`` c and ``size`` S shows template units [-c/2, c/2] on both axes:
c = 1.6 shows the whole face, the stored 2.2 the whole head with some hair and neck.
The template is the symmetrised mean of 172 real faces (scripts/derive_template.py).
"""
from __future__ import annotations

import numpy as np

from faceswap.align.umeyama import umeyama

TEMPLATE_68 = np.array([
    (-0.5933, -0.2600), (-0.5937, -0.1147), (-0.5847, +0.0307), (-0.5611, +0.1802),
    (-0.5181, +0.3318), (-0.4202, +0.5054), (-0.3249, +0.6048), (-0.1863, +0.7052),
    (+0.0000, +0.7502), (+0.1863, +0.7052), (+0.3249, +0.6048), (+0.4202, +0.5054),
    (+0.5181, +0.3318), (+0.5611, +0.1802), (+0.5847, +0.0307), (+0.5937, -0.1147),
    (+0.5933, -0.2600), (-0.5000, -0.3797), (-0.4395, -0.4489), (-0.3465, -0.4781),
    (-0.2362, -0.4709), (-0.1266, -0.4452), (+0.1266, -0.4452), (+0.2362, -0.4709),
    (+0.3465, -0.4781), (+0.4395, -0.4489), (+0.5000, -0.3797), (+0.0000, -0.2773),
    (+0.0000, -0.1571), (+0.0000, -0.0477), (+0.0000, +0.0411), (-0.1195, +0.1233),
    (-0.0662, +0.1455), (+0.0000, +0.1542), (+0.0662, +0.1455), (+0.1195, +0.1233),
    (-0.4028, -0.2368), (-0.3456, -0.2699), (-0.2320, -0.2709), (-0.1597, -0.2250),
    (-0.2297, -0.2098), (-0.3391, -0.2109), (+0.1597, -0.2250), (+0.2320, -0.2709),
    (+0.3456, -0.2699), (+0.4028, -0.2368), (+0.3391, -0.2109), (+0.2297, -0.2098),
    (-0.2350, +0.3401), (-0.1706, +0.3000), (-0.0643, +0.2682), (+0.0000, +0.2790),
    (+0.0643, +0.2682), (+0.1706, +0.3000), (+0.2350, +0.3401), (+0.1790, +0.4079),
    (+0.0867, +0.4644), (+0.0000, +0.4781), (-0.0867, +0.4644), (-0.1790, +0.4079),
    (-0.2006, +0.3404), (-0.1101, +0.3297), (+0.0000, +0.3329), (+0.1101, +0.3297),
    (+0.2006, +0.3404), (+0.1134, +0.3757), (+0.0000, +0.3895), (-0.1134, +0.3757),
], dtype=np.float64)

# Points the fit uses: the jaw moves with pose and expression, the inner face much less.
FIT_POINTS = slice(17, 68)

STORED_COVERAGE = 2.2
STORED_SIZE = 256

# insightface's ArcFace alignment template (112 x 112): eye centres, nose tip, mouth corners
ARCFACE_5 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                      [41.5493, 92.3655], [70.7299, 92.2041]])

# iBUG index of each point's mirror image (left-right flip)
MIRROR_68 = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40] + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)

RIGHT_EYE = slice(36, 42)   # image-left eye
LEFT_EYE = slice(42, 48)    # image-right eye


def template_pixels(size: int, coverage: float) -> np.ndarray:
    """``(68, 2)`` template points in the pixels of a ``size`` face crop at ``coverage``."""
    return (TEMPLATE_68 / coverage + 0.5) * size


def face_matrix(points: np.ndarray, size: int = STORED_SIZE, coverage: float = STORED_COVERAGE) -> np.ndarray:
    """``(2, 3)`` frame -> face matrix fitting ``(68, 2)`` landmarks to the template."""
    return umeyama(points[FIT_POINTS], template_pixels(size, coverage)[FIT_POINTS])


def recrop_matrix(size_from: int, coverage_from: float, size_to: int, coverage_to: float) -> np.ndarray:
    """``(2, 3)`` map from a stored crop's pixels to another crop's pixels (same centre).

    Lets training pick its own coverage and resolution from faces stored once.
    """
    scale = (size_to / coverage_to) / (size_from / coverage_from)
    offset = size_to / 2 - scale * size_from / 2
    return np.array([[scale, 0.0, offset], [0.0, scale, offset]])


def five_points(points: np.ndarray) -> np.ndarray:
    """Eye centres (image-left first), nose tip and mouth corners of 68 iBUG points, ``(5, 2)`` float32."""
    return np.stack([points[36:42].mean(0), points[42:48].mean(0), points[30], points[48], points[54]]).astype(np.float32)

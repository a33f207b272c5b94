"""Media for benchmarks/mask.py: the contact sheet of real occlusions, and the merge before/after
on a film-like composite (real object photos moved over a real talking-head clip)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from faceswap.align.umeyama import apply
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.faceset.store import FaceSet, read_face
from faceswap.media.ffmpeg_tool import ffmpeg_exe
from faceswap.media.image import read_image, write_image
from faceswap.media.video import open_source
from faceswap.segment.preview import overlay

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
CELL = 192


def _pick(folder: Path, frames: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(face, landmarks) of the biggest face nearest each wanted frame."""
    found = {}
    for path in FaceSet(folder).face_paths():
        image, record = read_face(path)
        if record.face_index == 0:
            found[record.frame_index] = (image, apply(record.matrix, record.landmarks).astype(np.float32))
    return [found[min(found, key=lambda f: abs(f - want))] for want in frames] if found else []


def contact_sheet(maskers: dict, plugins, work: Path, out: Path) -> dict:
    """face | extended | segment rows for real occlusions; returns what the rows show."""
    rows_spec = [
        ("lin_manuel_miranda", MEDIA / "video" / "lin_manuel_miranda__white_house_2009.mp4", 3, [125, 165, 200],
         "microphone / hand (real)"),
        ("lin_manuel_miranda_photo", MEDIA / "photos" / "lin_manuel_miranda", 1, [0], "microphone (real photo)"),
        ("man_glasses", MEDIA / "video" / "man_glasses__liveportrait_d9.mp4", 30, [60, 330], "glasses, fringe (real)"),
        ("composite", work / "composite.mp4", 1, [30, 45], "object photos over Katie Hill (composite)"),
    ]
    cells, shown = [], []
    for name, source, every, frames, what in rows_spec:
        folder = work / "facesets" / name
        if not FaceSet(folder).exists():
            extract(source, FaceSet(folder), plugins, ExtractSettings(every=every, min_size=24))
        for face, points in _pick(folder, frames):
            batch = face[None], points[None]
            row = [face] + [overlay(face.astype(np.float32), maskers[m].mask(*batch)[0]) for m in ("extended", "segment")]
            cells.append(np.concatenate([cv2.resize(c, (CELL, CELL), interpolation=cv2.INTER_AREA) for c in row], 1))
            shown.append(what)
    sheet = np.concatenate(cells, 0)
    bar = np.full((22, sheet.shape[1], 3), 32, np.uint8)
    for i, title in enumerate(("face", "extended hull", "segment")):
        cv2.putText(bar, title, (i * CELL + 6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (230, 230, 230), 1, cv2.LINE_AA)
    write_image(out, np.concatenate([bar, sheet], 0))
    return {"file": str(out.relative_to(out.parents[2])), "rows": shown}


def make_composite(work: Path, frames: int = 75) -> tuple[Path, np.ndarray]:
    """Katie Hill's first ``frames`` frames with a sheet of printed paper (scikit-image's text.png)
    sliding across her lower face and a round coffee cup (coffee.png) rising over her mouth.
    Returns the clip and the objects' pixels (frames, H, W) bool."""
    import skimage

    data = Path(skimage.__file__).parent / "data"
    paper = read_image(data / "text.png")
    paper = np.repeat(paper[..., None], 3, 2) if paper.ndim == 2 else paper[..., :3]
    coffee = read_image(data / "coffee.png")[..., :3]
    source = open_source(MEDIA / "video" / "katie_hill__hdtf_wda_000.mp4")
    clip_frames = [f.image for f, _ in zip(source.frames(), range(frames))]
    h, w = clip_frames[0].shape[:2]
    paper = cv2.resize(paper, (int(w * 0.45), int(w * 0.45 * paper.shape[0] / paper.shape[1])))
    cup = cv2.resize(coffee[40:360, 150:470], (int(w * 0.3), int(w * 0.3)))
    cup_shape = np.zeros(cup.shape[:2], np.uint8)
    cv2.circle(cup_shape, (cup.shape[1] // 2, cup.shape[0] // 2), cup.shape[0] // 2 - 2, 255, -1, cv2.LINE_AA)
    masks = np.zeros((frames, h, w), bool)
    folder = work / "composite_frames"
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(clip_frames):
        out = frame.copy()
        t = k / max(1, frames - 1)
        _paste(out, masks[k], paper, np.full(paper.shape[:2], 255, np.uint8), int(-0.45 * w + t * 1.4 * w), int(h * 0.62))
        _paste(out, masks[k], cup, cup_shape, int(w * 0.36), int(h * (1.05 - 0.5 * np.sin(np.pi * t))))
        write_image(folder / f"{k:04d}.png", out)
    clip = work / "composite.mp4"
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-framerate", "25", "-i",
                    str(folder / "%04d.png"), "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", str(clip)],
                   check=True)
    return clip, masks


def _paste(frame: np.ndarray, covered: np.ndarray, image: np.ndarray, shape: np.ndarray, x: int, y: int) -> None:
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + image.shape[1]), min(h, y + image.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    alpha = shape[y0 - y:y1 - y, x0 - x:x1 - x, None].astype(np.float32) / 255
    region = frame[y0:y1, x0:x1]
    frame[y0:y1, x0:x1] = (region * (1 - alpha) + image[y0 - y:y1 - y, x0 - x:x1 - x] * alpha).astype(np.uint8)
    covered[y0:y1, x0:x1] |= alpha[..., 0] > 0.5


def faceswap(work: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "faceswap", "-w", str(work), "--device", "cpu", *args], check=True,
                   stdout=subprocess.DEVNULL)


def merge_before_after(work: Path, clip: Path, objects: np.ndarray, iters: int, results: Path) -> dict:
    """Merge the composite with the default mask and with segment+predicted; how much the objects change."""
    faceswap(work, "extract", str(MEDIA / "video" / "aoc__hdtf_wda_000.mp4"), "--name", "aoc_src", "--every", "2",
             "--identity", "none")
    faceswap(work, "extract", str(clip), "--name", "composite_dst", "--masker", "extended", "--masker", "segment",
             "--identity", "none", "--fresh")
    faceswap(work, "train", "--preset", "quick", "--src", "aoc_src", "--dst", "composite_dst", "--iters", str(iters),
             "--lr", "5e-4", "--preview-every", "0", "--seed", "1")
    original = [f.image for f in open_source(clip).frames()]
    out: dict = {"clip": "katie_hill__hdtf_wda_000.mp4 frames 0-74 + scikit-image text.png and coffee.png",
                 "sae_iterations": iters}
    strip = [original[40]]
    for mode in ("intersect", "segment+predicted"):
        video = work / f"merged_{mode.replace('+', '_')}.mp4"
        faceswap(work, "merge", str(clip), "--faceset", "composite_dst", "--mask", mode, "-o", str(video),
                 "--no-report", "--preset", "veryfast")
        merged = [f.image for f in open_source(video).frames()]
        diffs = [np.abs(m.astype(np.int16) - o)[mask] for m, o, mask in zip(merged, original, objects) if mask.any()]
        values = np.concatenate(diffs)
        out[mode] = {"object_mean_abs_change": float(values.mean()),
                     "object_pixels_changed_over_12": float((values.max(axis=1) > 12).mean())}
        strip.append(merged[40])
    write_image(results / "mask_merge_before_after.png", np.concatenate(strip, 1))
    out["strip"] = "benchmarks/results/mask_merge_before_after.png (original | --mask intersect | --mask segment+predicted)"
    return out

"""Occlusion-aware masks: accuracy on held-out people, speed, a contact sheet of real occlusions,
and a merge before/after on a clip with an object moving over the face.

1. IoU of the visible face (0.5 threshold) against the truth on held-out identities (AOC, Katie
   Hill: the evaluation pair; young_woman: held out for these numbers; none of them is in the
   generic model's training data), each face with 0 and with 1-3 synthetic occluders of the kinds
   the model was trained on (fixed seeds, other than training's); the occluder-pixel recall (share
   of occluded face pixels the mask leaves out); where the errors are (occluder pixels kept as face,
   other pixels kept beyond the truth, face pixels cut, as shares of the union); the same figures
   for the `extended` hull; and a summary over the three people.
2. Speed on this machine: faces/s of the masker on 256 px faces in batches of 64 (crop, net,
   paste back) and of the hull; extraction frames/s with and without the segment masker.
3. benchmarks/results/mask_contact_sheet.png: face | extended hull | segment on real frames where
   something crosses the face (Lin-Manuel Miranda's microphone and hand, man_glasses' frames and
   fringe: both held out of training) and on a film-like composite (real object photos moved over
   Katie Hill's face).
4. Merge before/after on that composite: a quick sae model (AOC -> Katie Hill), merged with
   --mask intersect (the default) and --mask segment+predicted; reported: how much the object's
   pixels change (they should not: the object is in front of the face) and a before | after strip.

Writes benchmarks/results/mask.json. Run: nice python benchmarks/mask.py [--train-iters 60] [--work DIR]
(--accuracy-only [--model DIR]: just the held-out figures, of the shipped or a trained model, not saved)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from faceswap.align.umeyama import apply
from faceswap.atomic import write_json_atomic
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.faceset.store import FaceSet, read_face
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device
from faceswap.segment.occluders import KINDS, occlude
from faceswap.segment.textures import TextureBank
from faceswap.segment.truth import face_region

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", ROOT.parent / "shared" / "media"))
RESULTS = ROOT / "benchmarks" / "results"
HELD_OUT = {"aoc": ("aoc__hdtf_wda_000.mp4", 8), "katie_hill": ("katie_hill__hdtf_wda_000.mp4", 8),
            "young_woman": ("young_woman__liveportrait_d10.mp4", 12)}
WEIGHTS = {"hand": 0.3, "patch": 0.25, "bar": 0.2, "hair": 0.15, "glasses": 0.1}


def faces_of(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    faces, points = [], []
    for path in FaceSet(folder).face_paths():
        image, record = read_face(path)
        faces.append(image)
        points.append(apply(record.matrix, record.landmarks).astype(np.float32))
    return np.stack(faces), np.stack(points)


def scores(mask: np.ndarray, truth: np.ndarray, covered: np.ndarray) -> tuple[float, float | None, dict]:
    """IoU, occluder recall, and where the errors are, as shares of the union: occluder pixels kept
    as face (missed), other pixels wrongly kept (outside: beyond the face region or its edge), and
    face pixels left out (cut)."""
    got, want = mask > 0.5, truth > 0.5
    union = max(1, (got | want).sum())
    iou = float((got & want).sum() / union)
    hidden = covered.sum()
    wrong = got & ~want
    errors = {"missed": float((wrong & covered).sum() / union), "outside": float((wrong & ~covered).sum() / union),
              "cut": float((want & ~got).sum() / union)}
    return iou, (float((covered & ~got).sum() / hidden) if hidden else None), errors


def accuracy(maskers: dict, work: Path, plugins, textures: TextureBank) -> dict:
    """Per identity and masker: mean IoU without and with occluders, occluder recall, per kind."""
    out: dict = {}
    for person, (clip, every) in HELD_OUT.items():
        folder = work / "facesets" / person
        if not FaceSet(folder).exists():
            extract(MEDIA / "video" / clip, FaceSet(folder), plugins, ExtractSettings(every=every))
        faces, points = faces_of(folder)
        cases = []                      # (faces, truth, covered, kind)
        size = faces.shape[1]
        regions = [face_region(p, size) for p in points]
        cases.append((faces, np.stack(regions), np.zeros(faces.shape[:3], bool), "none"))
        for variant in range(3):
            rng = np.random.default_rng([2026, variant])
            occluded, truths, covers, kinds = [], [], [], []
            for face, pts, region in zip(faces, points, regions):
                kind = KINDS[int(rng.integers(len(KINDS)))] if variant < 2 else None
                weights = {kind: 1.0} if kind else WEIGHTS
                image, alpha = occlude(face, region, pts, rng, textures, faces[int(rng.integers(len(faces)))][100:160, 80:180],
                                       weights, 1 if kind else int(rng.integers(1, 4)))
                occluded.append(image)
                truths.append(region * (1 - alpha))
                covers.append((alpha > 0.5) & (region > 0.5))
                kinds.append(kind or "mixed")
            cases.append((np.stack(occluded), np.stack(truths), np.stack(covers), kinds))
        out[person] = {name: _score_cases(masker, cases, points) for name, masker in maskers.items()}
        out[person]["faces"] = int(len(faces))
    return out


def _score_cases(masker, cases, points) -> dict:
    clean, occluded, recalls, per_kind = [], [], [], {}
    errors: dict[str, dict[str, list[float]]] = {"unoccluded": {}, "occluded": {}}
    for faces, truths, covers, kinds in cases:
        masks = masker.mask(faces, points)
        for k, (mask, truth, cover) in enumerate(zip(masks, truths, covers)):
            iou, recall, error = scores(mask, truth, cover)
            for name, value in error.items():
                errors["unoccluded" if kinds == "none" else "occluded"].setdefault(name, []).append(value)
            if kinds == "none":
                clean.append(iou)
                continue
            occluded.append(iou)
            entry = per_kind.setdefault(kinds[k], {"iou": [], "recall": [], "missed": [], "cut": []})
            entry["iou"].append(iou)
            entry["missed"].append(error["missed"])
            entry["cut"].append(error["cut"])
            if recall is not None:
                recalls.append(recall)
                entry["recall"].append(recall)
    return {"iou_unoccluded": float(np.mean(clean)), "iou_occluded": float(np.mean(occluded)),
            "occluder_recall": float(np.mean(recalls)),
            "errors": {case: {k: float(np.mean(v)) for k, v in e.items()} for case, e in errors.items()},
            "by_kind": {k: {m: float(np.mean(v)) if v else None for m, v in e.items()} for k, e in per_kind.items()}}


def summary(per_person: dict) -> dict:
    """Each masker's figures averaged over the held-out people (each person weighs the same)."""
    people = list(per_person.values())
    out: dict = {}

    def mean(values: list) -> float | None:
        known = [v for v in values if v is not None]
        return float(np.mean(known)) if known else None

    for name in (k for k, v in people[0].items() if isinstance(v, dict)):
        runs = [p[name] for p in people]
        out[name] = {key: mean([r[key] for r in runs]) for key in ("iou_unoccluded", "iou_occluded", "occluder_recall")}
        out[name]["errors"] = {case: {k: mean([r["errors"][case][k] for r in runs]) for k in runs[0]["errors"][case]}
                               for case in runs[0]["errors"]}
        out[name]["by_kind"] = {kind: {k: mean([r["by_kind"][kind][k] for r in runs]) for k in runs[0]["by_kind"][kind]}
                                for kind in runs[0]["by_kind"]}
    return out


def speed(maskers: dict, faces: np.ndarray, points: np.ndarray) -> dict:
    batch = np.concatenate([faces] * (64 // len(faces) + 1))[:64]
    pts = np.concatenate([points] * (64 // len(points) + 1))[:64]
    out = {}
    for name, masker in maskers.items():
        masker.mask(batch[:8], pts[:8])
        best = min(_timed(lambda: masker.mask(batch, pts)) for _ in range(3))
        out[name] = 64 / best
    return out


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def extract_speed(registry, device, work: Path) -> dict:
    clip = MEDIA / "video" / "young_woman__liveportrait_d10.mp4"
    out = {}
    for maskers in (("extended",), ("extended", "segment")):
        plugins = build_extract_plugins(registry, ExtractChoice(maskers=maskers), {}, device)
        folder = Path(tempfile.mkdtemp(dir=work))
        summary = extract(clip, FaceSet(folder), plugins, ExtractSettings())
        out["+".join(maskers)] = summary.frames_read / summary.seconds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-iters", type=int, default=60,
                        help="iterations of the quick sae for the merge (the mask, not the swap, is what is compared)")
    parser.add_argument("--work", type=Path, help="keep intermediate files here (default: a temp folder)")
    parser.add_argument("--accuracy-only", action="store_true",
                        help="only the held-out accuracy (seconds; for comparing models), printed, not saved")
    parser.add_argument("--model", help="score this mask model folder ('faceswap mask train') instead of the shipped one")
    args = parser.parse_args()
    from mask_media import contact_sheet, make_composite, merge_before_after   # a sibling script module

    registry, device = Registry.discover(), resolve_device("cpu")
    maskers = {"segment": registry.create("masker", "segment", {"model": args.model} if args.model else {}, device),
               "extended": registry.create("masker", "extended", {"feather": 0.0}, device)}
    plugins = build_extract_plugins(registry, ExtractChoice(identity=None), {}, device)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        # the cores are shared: the load says how much of them this run had (speeds swing several-fold)
        result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
                  "load_average_at_start": os.getloadavg()[0]}
        result["accuracy"] = accuracy(maskers, work, plugins, TextureBank.default())
        result["mean"] = summary(result["accuracy"])
        print(json.dumps(result["mean"], indent=2))
        if args.accuracy_only:
            return
        faces, points = faces_of(work / "facesets" / "katie_hill")
        result["load_average_before_speed"] = os.getloadavg()[0]
        result["faces_per_s"] = speed(maskers, faces, points)
        result["extract_frames_per_s"] = extract_speed(registry, device, work)
        clip, objects = make_composite(work)
        result["contact_sheet"] = contact_sheet(maskers, plugins, work, RESULTS / "mask_contact_sheet.png")
        result["merge"] = merge_before_after(work, clip, objects, args.train_iters, RESULTS)
    print(json.dumps(result, indent=2))
    write_json_atomic(RESULTS / "mask.json", result)
    print(f"saved {RESULTS / 'mask.json'}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()

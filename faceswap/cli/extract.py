"""``faceswap extract``: thin: parse options, call the library, report."""
from __future__ import annotations

import hashlib
from pathlib import Path

import click
from tqdm import tqdm

from faceswap.cli.context import AppContext
from faceswap.errors import InputError
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.extract.reference import ReferenceFilter, reference_from_photo
from faceswap.faceset.store import FaceSet
from faceswap.hashing import file_sha256
from faceswap.media.video import open_source
from faceswap.people.selection import person_identity


@click.command("extract")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--name", help="Face set name in <workspace>/facesets/ [default: the video's file stem].")
@click.option("--detector", default="scrfd", show_default=True,
              help="Face detector plugin (see 'faceswap plugins'); blazeface is the Apache-2.0 choice.")
@click.option("--landmarker", default="2d106", show_default=True,
              help="Landmark plugin; facemesh is the Apache-2.0 choice.")
@click.option("--masker", "maskers", multiple=True, default=("extended",), show_default=True,
              help="Mask plugin(s) whose masks are stored with each face; repeat for several, e.g. --masker "
                   "extended --masker segment (the occlusion-aware mask beside the hull). The first is the one "
                   "training and merge use unless told otherwise.")
@click.option("--identity", default="arcface", show_default=True,
              help="Identity embedding plugin stored with each face and used by --ref; 'none' skips it.")
@click.option("-O", "--option", "overrides", multiple=True, metavar="KIND.KEY=VALUE",
              help="Set a plugin option, e.g. -O detector.threshold=0.6; repeatable. "
                   "'faceswap plugins show KIND NAME' lists them.")
@click.option("--model-root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder with your own insightface model pack (e.g. buffalo_l) instead of the packaged files.")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Use every Nth frame only.")
@click.option("--max-faces", type=click.IntRange(min=0), default=0, show_default=True,
              help="Keep at most this many faces per frame, largest first (0: all).")
@click.option("--min-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Ignore faces whose box is smaller than this many pixels.")
@click.option("--ref", type=click.Path(path_type=Path),
              help="Photo of the person to keep: tracks of anyone else are skipped.")
@click.option("--person", help="Keep only this named person (see 'faceswap people name'): NAME as named in any "
                               "face set of the workspace, or SET:NAME. Like --ref, without a photo.")
@click.option("--ref-threshold", type=click.FloatRange(-1, 1), default=0.35, show_default=True,
              help="Identity similarity (cosine) a track needs to count as the --ref / --person person.")
@click.option("--size", "face_size", type=click.IntRange(64, 1024), default=256, show_default=True,
              help="Side in pixels of the stored aligned faces.")
@click.option("--redetect", "redetect_every", type=click.IntRange(min=1), default=5, show_default=True,
              help="Run the face detector on every Nth frame and follow faces by their landmarks in "
                   "between (1: detect on every frame). New faces are picked up at the next detection; "
                   "a face that is lost triggers one at once.")
@click.option("--fresh", is_flag=True, help="Delete an existing face set of that name and start over "
                                            "(default: resume it).")
@click.pass_obj
def extract_command(app: AppContext, source: Path, name: str | None, detector: str, landmarker: str,
                    maskers: tuple[str, ...], identity: str, overrides: tuple[str, ...],
                    model_root: Path | None, every: int, max_faces: int, min_size: int, ref: Path | None,
                    person: str | None, ref_threshold: float, face_size: int, redetect_every: int,
                    fresh: bool) -> None:
    """Detect, align and mask every face of SOURCE (a video or a folder of images).

    Faces go to <workspace>/facesets/<name>/faces/ as PNGs with their metadata embedded.
    A killed run resumes where it stopped when run again. Delete a face file to drop
    that face from training and merge.
    """
    source_info = open_source(source).info          # fails fast on a missing or broken file
    if ref is not None and not ref.is_file():
        raise InputError(f"--ref photo not found: {ref}")
    if ref is not None and person is not None:
        raise InputError("use --ref or --person, not both")
    choice = ExtractChoice(detector, landmarker, tuple(maskers), None if identity == "none" else identity)
    chosen = {"detector": [detector], "landmarker": [landmarker], "masker": list(maskers)}
    if choice.identity:
        chosen["identity"] = [choice.identity]
    options = app.plugin_options(chosen, overrides, model_root)
    app.workspace.ensure(app.workspace.facesets)
    faceset = FaceSet(app.workspace.faceset_dir(name or (source.stem if source.is_file() else source.name)))
    done_before = faceset.read_manifest().frames_done if faceset.exists() and not fresh else 0

    plugins = build_extract_plugins(app.registry, choice, options, app.device())
    reference, ref_digest = None, ""
    if ref is not None:
        reference, ref_digest = reference_from_photo(ref, plugins, ref_threshold), file_sha256(ref)
    elif person is not None:
        if choice.identity is None:
            raise InputError("--person needs an identity plugin; do not combine it with --identity none")
        identity = person_identity(app.workspace, person)
        reference = ReferenceFilter(identity, ref_threshold)
        ref_digest = hashlib.sha256(identity.astype("<f4").tobytes()).hexdigest()
    settings = ExtractSettings(every=every, max_faces=max_faces, min_size=min_size, face_size=face_size,
                               redetect_every=redetect_every, ref_threshold=ref_threshold, ref_sha256=ref_digest)
    total = len(range(0, source_info.frame_count, every))
    initial = min(len(range(0, done_before, every)), total)
    with tqdm(total=total, initial=initial, unit="frame", desc=f"extract {source.name}",
              dynamic_ncols=True) as bar:
        summary = extract(source, faceset, plugins, settings, reference=reference, progress=bar, fresh=fresh)
    fps = summary.frames_read / summary.seconds if summary.seconds else 0.0
    resumed = f" (resumed at frame {summary.resumed_from})" if summary.resumed_from else ""
    click.echo(
        f"{summary.frames_read} frames read{resumed}, {summary.faces_written} faces written, "
        f"{summary.frames_without_face} frames without a face, {summary.seconds:.1f} s ({fps:.1f} frames/s); "
        f"face set {faceset.folder} holds {summary.faceset_faces} faces"
    )

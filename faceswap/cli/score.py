"""``faceswap score``: thin: parse, call faceswap.score, print the table and where the report is."""
from __future__ import annotations

import os
from pathlib import Path

import click
import torch
from tqdm import tqdm

from faceswap.cli.context import AppContext
from faceswap.errors import FaceSetError, NoFaceError
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.cli.extraction import plugins_like
from faceswap.faceset.store import FaceSet
from faceswap.media.video import open_source
from faceswap.score.collect import Sampling, default_every
from faceswap.score.report import ScoreContext, ScoreReport, build_report, table_rows, write_report
from faceswap.score.run import (boxes_by_frame, build_tools, check_comparable, check_source_sets,
                                identity_references, score_sources)
from faceswap.score.scorer import RunScorer, attach_identity


@click.command("score")
@click.argument("original", type=click.Path(path_type=Path))
@click.argument("swapped", type=click.Path(path_type=Path))
@click.option("--src", "src", multiple=True, default=("src",), show_default=True,
              help="Face set(s) of the source person (the face put in); repeat for several.")
@click.option("--dst", help="Face set of the destination person [default: ORIGINAL's face set, extracted if missing].")
@click.option("--every", type=click.IntRange(min=1),
              help="Score a run of 3 consecutive frames every N frames [default: one run per second of video].")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Report folder [default: <workspace>/output/<SWAPPED stem>.report].")
@click.pass_obj
def score_command(app: AppContext, original: Path, swapped: Path, src: tuple[str, ...], dst: str | None,
                  every: int | None, output: Path | None) -> None:
    """Measure how good a swap is: SWAPPED against the ORIGINAL it was made from.

    Both are videos with the same frames (or two image folders). Prints the figures and
    writes report.json and a one-page report.html: identity (an identity model training
    never uses), pose and expression kept, sharpness, temporal stability and blending.
    """
    before, after = open_source(original), open_source(swapped)
    check_comparable(before, after)
    sampling = Sampling(every or default_every(float(before.info.fps)))
    device = app.device()
    threads = torch.get_num_threads()
    if not device.is_cuda and not app.threads:
        # two ffmpeg decoders share the CPU: a torch pool as wide as the machine stalls (measured 6x slower)
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    try:
        _score(app, device, original, swapped, before, after, sampling, src, dst, output)
    finally:
        torch.set_num_threads(threads)


def _score(app: AppContext, device, original: Path, swapped: Path, before, after, sampling: Sampling,
           src: tuple[str, ...], dst: str | None, output: Path | None) -> None:
    destination = _destination(app, original, dst, src, device)
    tools = build_tools(app.registry, device)
    check_source_sets(app.workspace, src)
    frames = before.frame_indices(every=sampling.every, run=sampling.length)
    with tqdm(total=len(frames), desc=f"score {swapped.name}", unit="frame", dynamic_ncols=True) as bar:
        faces = score_sources(before, after, boxes_by_frame(destination), RunScorer(tools.landmarker, tools.embedder),
                              sampling, bar)
    if not faces:
        raise NoFaceError(f"none of the faces of face set '{destination.folder.name}' was found in the sampled "
                          f"frames of {original}: is it the face set of this video? (--dst)")
    with tqdm(desc="identities of face sets", unit="set", leave=False) as bar:
        attach_identity(faces, identity_references(app.workspace, tools, src, destination, bar))
    context = ScoreContext(str(original), str(swapped), before.info.frame_count, sampling.every, sampling.length,
                           tuple(src), destination.folder.name)
    report = build_report(context, faces)
    folder = output or app.workspace.ensure(app.workspace.output) / f"{swapped.stem}.report"
    page = write_report(report, folder)
    print_report(report)
    click.echo(f"report -> {page}")


def print_report(report: ScoreReport) -> None:
    rows = [("metric", "mean", "worst 5%", "ideal"), *table_rows(report)]
    width = max(len(r[0]) for r in rows)
    for name, mean, worst, ideal in rows:
        click.echo(f"  {name:<{width}}  {mean:>8}  {worst:>8}  {ideal:>6}")
    click.echo(report.headline)


def _destination(app: AppContext, original: Path, name: str | None, sources: tuple[str, ...], device) -> FaceSet:
    """The destination face set: named, or ORIGINAL's own (extracted first when missing)."""
    faceset = FaceSet(app.workspace.faceset_dir(name or original.stem))
    if name is not None and not faceset.exists():
        raise FaceSetError(f"no face set '{name}' in {app.workspace.facesets}: extract it first, or leave out --dst")
    if not (faceset.exists() and faceset.read_manifest().complete):
        plugins = plugins_like(app, [faceset.folder.name, *sources], device)
        app.workspace.ensure(app.workspace.facesets)
        with tqdm(total=open_source(original).info.frame_count, unit="frame", desc=f"extract {original.name}") as bar:
            extract(original, faceset, plugins, ExtractSettings(), progress=bar)
    return faceset

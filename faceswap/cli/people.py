"""``faceswap people``: thin: find the people of a video or face set, list them, name one."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from faceswap.cli.context import AppContext
from faceswap.cli.extraction import plugins_like
from faceswap.errors import InputError
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.reference import reference_from_photo
from faceswap.faceset.store import FaceSet
from faceswap.media.video import open_source
from faceswap.people.clustering import SAME_PERSON
from faceswap.people.identify import People
from faceswap.people.report import describe, write_people_sheet
from faceswap.people.update import find_people, name_person


class _ShowByDefault(click.Group):
    """``faceswap people TARGET`` means ``faceswap people show TARGET``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group("people", cls=_ShowByDefault)
def people_command() -> None:
    """Find the people in a video or face set (faceswap people TARGET), name one (faceswap people name ...).

    Faces are linked into tracks when extracted; tracks are grouped by identity into
    person-1, person-2, ... (most faces first). Named people can be used elsewhere:
    train --src SET:NAME, extract --person NAME, merge --map NAME=MODEL.
    """


@people_command.command("show")
@click.argument("target")
@click.option("--threshold", type=click.FloatRange(-1, 1), default=SAME_PERSON, show_default=True,
              help="Identity similarity (cosine of mean identities) at which tracks count as one person.")
@click.option("--fresh", is_flag=True, help="Group all tracks again (default: keep the people found before, "
                                            "with their names, and only place new tracks).")
@click.option("--ref", type=click.Path(path_type=Path), help="Photo of someone: say which person it is.")
@click.option("--ref-threshold", type=click.FloatRange(-1, 1), default=0.35, show_default=True,
              help="Identity similarity a person needs to count as the --ref person.")
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=Path),
              help="Thumbnail sheet PNG, a row per person [default: <workspace>/output/<set>_people.png].")
@click.pass_obj
def show_command(app: AppContext, target: str, threshold: float, fresh: bool, ref: Path | None,
                 ref_threshold: float, sheet: Path | None) -> None:
    """List the people of TARGET: a video or image folder (extracted first when needed) or a face set name."""
    if ref is not None and not ref.is_file():
        raise InputError(f"--ref photo not found: {ref}")
    faceset = _faceset_of(app, target)
    with tqdm(unit="face", desc=f"measure {faceset.folder.name}", dynamic_ncols=True, leave=False, delay=1.0) as bar:
        people = find_people(faceset, threshold, fresh, progress=bar)
    lines = describe(people, float(Fraction(faceset.read_manifest().fps)))
    click.echo(f"face set {faceset.folder}: {len(people.table)} faces in {len(np.unique(people.keys))} tracks, "
               f"{len(lines)} {'person' if len(lines) == 1 else 'people'}")
    width = max(len(line.person.label) for line in lines)
    for line in lines:
        click.echo(f"  {line.person.label:<{width}}  {line.faces:>6} faces  {line.tracks:>4} tracks  "
                   f"{line.spans_text()}")
    path = sheet or app.workspace.ensure(app.workspace.output) / f"{faceset.folder.name}_people.png"
    click.echo(f"thumbnails -> {write_people_sheet(people, lines, path)}")
    if ref is not None:
        _say_who(app, people, faceset, ref, ref_threshold)


@people_command.command("name")
@click.argument("faceset")
@click.argument("person")
@click.argument("name")
@click.pass_obj
def name_command(app: AppContext, faceset: str, person: str, name: str) -> None:
    """Call PERSON (person-N, or their current name) of face set FACESET by NAME."""
    folder = app.workspace.faceset_dir(faceset)
    if not FaceSet(folder).exists():
        raise InputError(f"no face set '{faceset}' in {app.workspace.facesets}")
    renamed = name_person(FaceSet(folder), person, name)
    click.echo(f"{renamed.label} of face set {faceset}; use it as --src {faceset}:{name}, --person {name}, "
               f"--map {name}=MODEL")


def _faceset_of(app: AppContext, target: str) -> FaceSet:
    """The face set TARGET names: a set in the workspace, a face set folder, or a video / image folder."""
    path = Path(target)
    if (path / FaceSet.MANIFEST).is_file():
        return FaceSet(path)
    if not path.exists():
        named = FaceSet(app.workspace.faceset_dir(target))
        if named.exists():
            return named
        raise InputError(f"{target} is neither a video, an image folder nor a face set in {app.workspace.facesets}")
    faceset = FaceSet(app.workspace.faceset_dir(path.stem if path.is_file() else path.name))
    if not (faceset.exists() and faceset.read_manifest().complete):
        info = open_source(path).info
        plugins = plugins_like(app, [faceset.folder.name], app.device())
        app.workspace.ensure(app.workspace.facesets)
        with tqdm(total=info.frame_count, unit="frame", desc=f"extract {path.name}", dynamic_ncols=True) as bar:
            extract(path, faceset, plugins, ExtractSettings(), progress=bar)
    return faceset


def _say_who(app: AppContext, people: People, faceset: FaceSet, ref: Path, threshold: float) -> None:
    plugins = plugins_like(app, [faceset.folder.name], app.device())
    wanted = reference_from_photo(ref, plugins, threshold)
    best_score, best = people.closest(wanted.embedding)
    if best is None:
        click.echo(f"--ref {ref.name}: no person of face set {faceset.folder.name} has an identity to compare")
    elif best_score >= threshold:
        click.echo(f"--ref {ref.name} is {best.label} (similarity {best_score:.2f})")
    else:
        click.echo(f"--ref {ref.name} is nobody here (closest: {best.label}, similarity {best_score:.2f} "
                   f"< {threshold})")

"""``faceswap faces``: thin: sort, clean, restore and check pose coverage of face sets."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from faceswap.cli.context import AppContext
from faceswap.cli.extraction import plugins_like
from faceswap.curate.cleaning import CleanRules, clean_faceset, rejected_dir, restore_faceset
from faceswap.curate.coverage import MIN_NEIGHBOURS, RADIUS, atlas, pose_coverage
from faceswap.curate.sorting import SORT_KEYS, SortedFaces, sort_faces
from faceswap.errors import InputError
from faceswap.extract.reference import reference_from_photo
from faceswap.faceset.store import read_face
from faceswap.faceset.table import FaceTable
from faceswap.media.sheet import grid, write_sheet
from faceswap.media.sheet import tile as sheet_tile
from faceswap.people.identify import identify
from faceswap.people.roster import read_roster
from faceswap.people.selection import faceset_of, table_of

RULES = ("blur", "tiny", "duplicate", "outlier", "align")


@click.group("faces")
def faces_command() -> None:
    """Curate face sets: sort, clean (faces are moved to <set>/rejected/, never deleted), restore, coverage.

    Each face is measured once (pose, sharpness, brightness, landmark fit, ...) and the
    numbers are cached with the set (<set>/scores.safetensors), so later commands are instant.
    """


def _measured(app: AppContext, spec: str) -> FaceTable:
    with tqdm(unit="face", desc=f"measure {spec}", dynamic_ncols=True, leave=False, delay=1.0) as bar:
        return table_of(app.workspace, spec, bar)


@faces_command.command("sort")
@click.argument("faceset")
@click.argument("photo", required=False, type=click.Path(path_type=Path))
@click.option("--by", type=click.Choice(list(SORT_KEYS)), default="blur", show_default=True,
              help="; ".join(f"{key}: {what}" for key, what in SORT_KEYS.items()) + ".")
@click.option("--reverse", is_flag=True, help="Reverse the order.")
@click.option("--top", type=click.IntRange(min=0), default=0, show_default=True,
              help="Print (and put on the sheet) only the first N faces (0: all).")
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the faces in this order as a contact sheet PNG.")
@click.option("--sheet-max", type=click.IntRange(min=1), default=400, show_default=True,
              help="At most this many faces on the sheet (the first ones).")
@click.pass_obj
def sort_command(app: AppContext, faceset: str, photo: Path | None, by: str, reverse: bool, top: int,
                 sheet: Path | None, sheet_max: int) -> None:
    """Print the faces of FACESET (SET or SET:PERSON) in order: name, then the value sorted by.

    --by similarity-to needs a PHOTO after FACESET: faceswap faces sort SET PHOTO --by similarity-to.
    Files are never renamed: the order is printed and drawn.
    """
    table = _measured(app, faceset)
    reference = None
    if by == "similarity-to":
        if photo is None:
            raise InputError("--by similarity-to needs a PHOTO: faceswap faces sort SET PHOTO --by similarity-to")
        plugins = plugins_like(app, [faceset_of(app.workspace, faceset)[0].folder.name], app.device())
        reference = reference_from_photo(photo, plugins, 0.0).embedding
    people = identify(table, read_roster(faceset_of(app.workspace, faceset)[0])) if by == "identity" else None
    ordered = sort_faces(table, by, reference=reference, people=people)
    if reverse:
        ordered = SortedFaces(ordered.rows[::-1], ordered.values[::-1], by)
    shown = ordered.rows[:top] if top else ordered.rows
    for rank, (row, value) in enumerate(zip(shown, ordered.values), start=1):
        click.echo(f"{rank:>6}  {table.names[row]}  {by} {value:.3f}")
    if sheet is not None:
        picks = list(zip(shown[:sheet_max], ordered.values[:sheet_max]))
        tiles = [sheet_tile(read_face(path)[0], 96, f"{rank} {value:.1f}")
                 for rank, ((row, value), path) in enumerate(zip(picks, table.paths([r for r, _ in picks])), 1)]
        click.echo(f"sheet of {len(tiles)} faces -> {write_sheet(sheet, grid(tiles, columns=min(12, len(tiles))))}")


@faces_command.command("clean")
@click.argument("faceset")
@click.option("--dry-run", is_flag=True, help="Only list the faces that would be moved, and why.")
@click.option("--blur", type=click.FloatRange(min=0), default=CleanRules.blur, show_default=True,
              help="Reject faces whose sharpness is below this share of the median sharpness of their person.")
@click.option("--min-size", type=click.FloatRange(min=0), default=CleanRules.min_size, show_default=True,
              help="Reject faces whose box is smaller than this many frame pixels.")
@click.option("--duplicate", type=click.FloatRange(min=0), default=CleanRules.duplicate, show_default=True,
              help="Reject a face whose 16x16 grey thumbnail is within this mean grey-level difference (0-255) of "
                   "a face kept before it (repeated frames, copies).")
@click.option("--outlier", type=click.FloatRange(-1, 1), default=CleanRules.outlier, show_default=True,
              help="Reject faces whose identity similarity to the mean of their person is below this.")
@click.option("--align-error", type=click.FloatRange(min=0), default=CleanRules.align_error, show_default=True,
              help="Reject faces whose landmarks are further than this from a rigid face (faces that are not "
                   "faces, landmarks off the face; real faces measure 0.01-0.07).")
@click.option("--skip", "skipped", multiple=True, type=click.Choice(RULES), help="Do not apply this rule; repeatable.")
@click.pass_obj
def clean_command(app: AppContext, faceset: str, dry_run: bool, blur: float, min_size: float, duplicate: float,
                  outlier: float, align_error: float, skipped: tuple[str, ...]) -> None:
    """Move the blurry, tiny, duplicate, identity-outlier and badly aligned faces of FACESET to <set>/rejected/.

    Nothing is deleted: 'faceswap faces restore FACESET' moves them back. Training and
    merge use <set>/faces/ only.
    """
    target, who = faceset_of(app.workspace, faceset)
    if who is not None:
        raise InputError("clean works on a whole face set: give SET, not SET:PERSON")
    rules = CleanRules(blur=None if "blur" in skipped else blur, min_size=None if "tiny" in skipped else min_size,
                       duplicate=None if "duplicate" in skipped else duplicate,
                       outlier=None if "outlier" in skipped else outlier,
                       align_error=None if "align" in skipped else align_error)
    with tqdm(unit="face", desc=f"measure {faceset}", dynamic_ncols=True, leave=False, delay=1.0) as bar:
        result = clean_faceset(target, rules, dry_run=dry_run, progress=bar)
    for name, reasons in result.rejects.items():
        click.echo(f"{name}  {'; '.join(reasons)}")
    verb = "would move" if dry_run else "moved"
    click.echo(f"{verb} {len(result.rejects) if dry_run else len(result.moved)} of {result.faces} faces to "
               f"{rejected_dir(target)}" + ("" if dry_run else f"; 'faceswap faces restore {faceset}' brings them back"))


@faces_command.command("restore")
@click.argument("faceset")
@click.argument("names", nargs=-1)
@click.pass_obj
def restore_command(app: AppContext, faceset: str, names: tuple[str, ...]) -> None:
    """Move faces of FACESET back from <set>/rejected/ to faces/: all of them, or the NAMES given."""
    target, _ = faceset_of(app.workspace, faceset)
    restored, kept = restore_faceset(target, list(names) or None)
    click.echo(f"restored {len(restored)} faces to {target.faces_dir}")
    if kept:
        click.echo(f"{len(kept)} left in {rejected_dir(target)}: faces/ holds a face of the same name "
                   f"({', '.join(kept[:5])}{', ...' if len(kept) > 5 else ''})")


@faces_command.command("coverage")
@click.option("--src", "src", multiple=True, required=True, help="Source face set(s) (SET or SET:PERSON); repeatable.")
@click.option("--dst", "dst", multiple=True, required=True, help="Destination face set(s); repeatable.")
@click.option("--radius", type=click.FloatRange(min=0, min_open=True), default=RADIUS, show_default=True,
              help="Degrees of yaw/pitch within which a source face counts as near a destination face.")
@click.option("-k", "--min-neighbours", type=click.IntRange(min=1), default=MIN_NEIGHBOURS, show_default=True,
              help="Source faces a destination face needs nearby to count as covered.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Atlas PNG [default: <workspace>/output/coverage_<src>_<dst>.png].")
@click.pass_obj
def coverage_command(app: AppContext, src: tuple[str, ...], dst: tuple[str, ...], radius: float,
                     min_neighbours: int, output: Path | None) -> None:
    """How well the source faces cover the destination's head poses, with a yaw/pitch atlas PNG."""
    src_poses, dst_poses = _poses(app, src), _poses(app, dst)
    report = pose_coverage(src_poses, dst_poses, radius, min_neighbours)
    click.echo(f"{report.uncovered_share:.0%} of {report.dst_faces} dst faces have fewer than {min_neighbours} "
               f"src faces within {radius:g} deg of their pose ({report.src_faces} src faces)")
    for region in report.regions:
        if region.dst_faces:
            thin = "  <- thin" if region.src_faces < min_neighbours * 3 and region.dst_share >= 0.01 else ""
            click.echo(f"  {region.sentence()}{thin}")
    names = "+".join(s.replace(":", "-") for s in src), "+".join(d.replace(":", "-") for d in dst)
    path = output or app.workspace.ensure(app.workspace.output) / f"coverage_{names[0]}_{names[1]}.png"
    image = atlas(src_poses, dst_poses, report.uncovered, ", ".join(src), ", ".join(dst))
    click.echo(f"atlas -> {write_sheet(path, image)}")


def _poses(app: AppContext, specs: tuple[str, ...]) -> np.ndarray:
    tables = [_measured(app, spec) for spec in specs]
    return np.concatenate([np.stack([t["yaw"], t["pitch"]], axis=1) for t in tables])

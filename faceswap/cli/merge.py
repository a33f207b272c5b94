"""``faceswap merge``: thin: parse options, call the library, report."""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
import torch
from tqdm import tqdm

from faceswap.cli.context import AppContext
from faceswap.errors import InputError
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.cli.extraction import plugins_like
from faceswap.extract.reference import reference_from_photo
from faceswap.faceset.store import FaceSet
from faceswap.media.encoding import check_encoder
from faceswap.media.image import write_image
from faceswap.media.video import EncodeSettings, open_source
from faceswap.merge.masks import parse_mask_mode, require_stored_mask
from faceswap.merge.outputs import FramesOutput, VideoOutput
from faceswap.merge.multi import MultiMerger, parse_map
from faceswap.merge.pipeline import Merger, MergeSettings, faces_by_frame, merge
from faceswap.merge.sharpen import DEFAULT_AMOUNT as DEFAULT_SHARPEN
from faceswap.merge.session import MergeSession, PasteStyle, SessionMerger, build_session_merger, read_session
from faceswap.merge.smoothing import SmoothingConfig
from faceswap.merge.swapper import ENGINES, FaceSwapper
from faceswap.people.selection import faces_like, map_people, split_spec
from faceswap.score.collect import Sampling, default_every
from faceswap.score.report import ScoreContext
from faceswap.score.run import LiveScoring, ScoreTools, build_tools, finish_report, report_folder
from faceswap.score.scorer import RunScorer

log = logging.getLogger(__name__)


@click.command("merge")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--model", "model_name", default="sae", show_default=True, help="Model folder in <workspace>/models/.")
@click.option("--faceset", help="Face set of VIDEO [default: its file stem]; extracted first when missing.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output video [default: <workspace>/output/<stem>_swapped.mp4].")
@click.option("--color", default="rct", show_default=True, help="Colour-transfer plugin ('none' to keep the model's colours).")
@click.option("--blender", default="alpha", show_default=True, help="Blender plugin: alpha, seamless or laplacian.")
@click.option("-O", "--option", "overrides", multiple=True, metavar="KIND.KEY=VALUE",
              help="Colour or blender plugin option, e.g. -O blender.mode=mixed; repeatable.")
@click.option("--mask", default="intersect", show_default=True, callback=lambda c, p, v: _mask_mode(v),
              help="Blend under the model's predicted mask (predicted), the extraction's stored mask (extracted), "
                   "where both agree (intersect), a stored mask by name, e.g. the occlusion-aware 'segment' "
                   "('faceswap mask apply'), or a stored mask where the model's agrees (segment+predicted).")
@click.option("--erode", type=float, default=0.0, show_default=True,
              help="Shrink (positive) or grow (negative) the mask, as a fraction of the face crop.")
@click.option("--blur", type=click.FloatRange(min=0), default=0.04, show_default=True,
              help="Feather the mask edge, as a fraction of the face crop.")
@click.option("--sharpen", type=click.FloatRange(0, 4), default=DEFAULT_SHARPEN, show_default=True,
              help="Sharpen the swapped face before pasting it (unsharp mask, DeepFaceLab's merger sharpen): "
                   "the amount of fine detail added back (a soft CPU-trained face gained sharpness and likeness "
                   "at 1); 0 is off, e.g. for a model as sharp as the footage.")
@click.option("--no-smooth", is_flag=True, help="Do not smooth the face alignment over time (smoothing stops jitter).")
@click.option("--smooth-beta", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="How quickly smoothing gives way to fast head moves (higher: less lag, more jitter).")
@click.option("--ref", type=click.Path(path_type=Path), help="Swap only the person in this photo (whole tracks).")
@click.option("--map", "person_map", multiple=True, metavar="PERSON=MODEL",
              help="Swap PERSON (a name or person-N of the face set's people, see 'faceswap people') with MODEL; "
                   "repeat for several people. Everyone not mapped is left untouched. Replaces --model.")
@click.option("--ref-threshold", type=click.FloatRange(-1, 1), default=0.35, show_default=True,
              help="Identity similarity a face needs to count as the --ref person.")
@click.option("--codec", default="libx264", show_default=True, help="ffmpeg video encoder.")
@click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True, help="Quality (x264/x265; lower is better).")
@click.option("--preset", "encode_preset", default="medium", show_default=True, help="Encoder speed preset (x264/x265).")
@click.option("--watermark", is_flag=True, help="Also draw a visible 'faceswap' label on every frame.")
@click.option("--frames-out", type=click.Path(file_okay=False, path_type=Path),
              help="Write PNG frames to this folder instead of a video.")
@click.option("--preview-frame", type=click.IntRange(min=0),
              help="Only write a before/after PNG of frame N (to -o, default <workspace>/output/<stem>_frameN.png).")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True, help="Frames per model batch.")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="Run the model in torch, or in onnxruntime from 'faceswap export --onnx'; auto picks the faster "
                   "on the first batch when an up-to-date export exists.")
@click.option("--no-report", is_flag=True, help="Do not score the swap (by default a quality report is written "
                                                 "beside the output, <output stem>.report/).")
@click.option("--score-every", type=click.IntRange(min=1),
              help="Frames between scored runs for the report [default: one run per second of video].")
@click.option("--session", "session_file", type=click.Path(path_type=Path),
              help="Merge session file saved by 'faceswap ui' (the merge tuner): its colour, blender, mask, erode, "
                   "blur and sharpen replace those options, per-frame-range overrides apply to their frames, and its "
                   "model is used unless --model is given.")
@click.pass_context
def merge_command(ctx: click.Context, video: Path, model_name: str, faceset: str | None, output: Path | None,
                  color: str, blender: str, overrides: tuple[str, ...], mask: str, erode: float, blur: float,
                  sharpen: float, no_smooth: bool, smooth_beta: float, ref: Path | None, ref_threshold: float,
                  codec: str, crf: int, encode_preset: str, watermark: bool, frames_out: Path | None,
                  preview_frame: int | None, batch: int, engine: str, no_report: bool, score_every: int | None,
                  person_map: tuple[str, ...], session_file: Path | None) -> None:
    """Swap the faces of VIDEO for the source person of a trained model.

    Every frame keeps its resolution and timing and the audio is copied; the file is
    tagged as made with faceswap. Swap only faces you have consent to use.
    """
    app: AppContext = ctx.obj
    session = read_session(session_file) if session_file is not None else None
    settings = MergeSettings(mask=mask, erode=erode, blur=blur, sharpen=sharpen, smooth=not no_smooth,
                             smoothing=SmoothingConfig(beta=smooth_beta), watermark=watermark, batch=batch)
    if session is not None:
        style = session.settings
        color, blender, settings = style.color, style.blender, style.merge_settings(settings)
        if session.model and ctx.get_parameter_source("model_name") is not click.core.ParameterSource.COMMANDLINE:
            model_name = session.model
    device = app.device()
    threads = torch.get_num_threads()
    if not device.is_cuda and not app.threads:
        # ffmpeg encodes on a core of its own: leave it one (measured 48% -> 51% of I/O speed on 2 cores)
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    try:
        _merge(app, device, video, model_name, faceset, output, color, blender, overrides, settings, ref, ref_threshold,
               EncodeSettings(codec=codec, crf=crf, preset=encode_preset), frames_out, preview_frame,
               None if no_report else score_every or 0, parse_map(person_map), engine, session)
    finally:
        torch.set_num_threads(threads)


def _mask_mode(value: str) -> str:
    parse_mask_mode(value)          # a malformed mode is an OptionError before any work
    return value


def _merge(app: AppContext, device, video: Path, model_name: str, faceset: str | None, output: Path | None,
           color: str, blender: str, overrides: tuple[str, ...], settings: MergeSettings, ref: Path | None,
           ref_threshold: float, encode: EncodeSettings, frames_out: Path | None, preview_frame: int | None,
           score_every: int | None, mapping: dict[str, str], engine: str = "torch",
           session: MergeSession | None = None) -> None:
    source = _open_video(video)
    if frames_out is None and preview_frame is None:     # refuse an encoder that cannot do it before any work
        encode = check_encoder(encode, source.info.width, source.info.height)
    models = list(dict.fromkeys(mapping.values())) or [model_name]
    swappers = {name: FaceSwapper(app.workspace.model_dir(name), app.registry, device, engine) for name in models}
    options = app.plugin_options({"color": [color], "blender": [blender]}, overrides)
    color_plugin = app.registry.create("color", color, options["color"][color], device)
    blender_plugin = app.registry.create("blender", blender, options["blender"][blender], device)
    faces_set = FaceSet(app.workspace.faceset_dir(faceset or video.stem))
    faces = faces_by_frame(_ensure_faceset(app, device, video, source, faces_set, swappers.values()))
    for mode in dict.fromkeys([settings.mask, *(style.mask for style in (session.styles() if session else ()))]):
        require_stored_mask((r for records in faces.values() for r in records), mode, faces_set.folder.name)
    if ref is not None:         # whole tracks whose person is the one in the photo
        plugins = plugins_like(app, _related_sets(app, faces_set, swappers.values()), device)
        chosen = faces_like(faces_set, reference_from_photo(ref, plugins, ref_threshold).embedding, ref_threshold)
        faces = {i: kept for i, records in faces.items()
                 if (kept := [r for r in records if (r.frame_index, r.face_index) in chosen])}
    fps = float(source.info.fps)
    routes = map_people(app.workspace, faces_set, mapping) if mapping else None
    if routes is not None:
        plain = replace(settings, watermark=False)      # drawn once, on the whole frame
        merger: Merger | MultiMerger | SessionMerger = MultiMerger(
            {name: _session_merger(app, device, session, Merger(swapper, color_plugin, blender_plugin, plain, fps),
                                   overrides) for name, swapper in swappers.items()}, routes, settings)
    else:
        merger = _session_merger(app, device, session,
                                 Merger(swappers[model_name], color_plugin, blender_plugin, settings, fps), overrides)
    if preview_frame is not None:
        _preview(app, source, faces, merger, preview_frame, output, video)
        return
    out = _output(app, video, source, output, frames_out, encode)
    scorings: dict[str, LiveScoring] = {}
    if score_every is not None:
        tools = build_tools(app.registry, device)
        every = score_every or default_every(fps)
        scorings = {name: LiveScoring(RunScorer(tools.landmarker, tools.embedder), Sampling(every)) for name in models}
    with tqdm(total=source.info.frame_count, unit="frame", desc=f"merge {video.name}", dynamic_ncols=True) as bar:
        summary = merge(source, faces, merger, out, progress=bar,
                        on_written=_score_each(scorings, routes) if scorings else None)
    rate = summary.frames / summary.seconds if summary.seconds else 0.0
    click.echo(f"{summary.frames} frames merged, {summary.faces_swapped} faces swapped, {summary.seconds:.1f} s "
               f"({rate:.1f} frames/s) -> {out.path}")
    for name, scoring in scorings.items():
        folder = report_folder(out.path)
        if routes is not None:      # one report per model, of the faces it swapped
            folder = folder.with_name(f"{folder.name}-{name}")
            click.echo(f"model {name} ({', '.join(who for who, m in mapping.items() if m == name)}):")
        _report(app, tools, scoring, swappers[name].info, faces_set, source, out.path, folder)


def _output(app: AppContext, video: Path, source, output: Path | None, frames_out: Path | None,
            encode: EncodeSettings) -> FramesOutput | VideoOutput:
    if frames_out is not None:
        return FramesOutput(frames_out)
    path = output or app.workspace.ensure(app.workspace.output) / f"{video.stem}_swapped.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    return VideoOutput(path, source.info, encode)


def _open_video(video: Path):
    source = open_source(video)
    if source.info.fps == 0:
        raise InputError(f"{video} is not a video: merge needs a video (use --frames-out for image folders)")
    if source.info.damage:
        log.warning("%s is truncated or damaged (%s): merging the %d frames that can be read",
                    video, source.info.damage, source.info.frame_count)
    return source


def _ensure_faceset(app: AppContext, device, video: Path, source, faces_set: FaceSet, swappers) -> FaceSet:
    """The destination face set, extracted first (with the plugins of related sets) when it is not complete."""
    if not (faces_set.exists() and faces_set.read_manifest().complete):
        plugins = plugins_like(app, _related_sets(app, faces_set, swappers), device)
        app.workspace.ensure(app.workspace.facesets)
        with tqdm(total=source.info.frame_count, unit="frame", desc=f"extract {video.name}") as bar:
            extract(video, faces_set, plugins, ExtractSettings(), progress=bar)
    return faces_set


def _related_sets(app: AppContext, faces_set: FaceSet, swappers) -> list[str]:
    """The destination set, then the face sets the models were trained on (SET:PERSON -> SET)."""
    names = [faces_set.folder.name]
    for swapper in swappers:
        sets = swapper.info.get("facesets", {})
        names += [split_spec(app.workspace, n)[0] for n in (*sets.get("dst", []), *sets.get("src", []))]
    return list(dict.fromkeys(names))


def _score_each(scorings: dict[str, LiveScoring], routes: dict[tuple[int, int], str] | None):
    """merge's on_written: all swapped faces to the one scoring, or each face to its model's."""
    if routes is None:
        return next(iter(scorings.values())).written

    def written(frame, merged, records) -> None:
        for name, scoring in scorings.items():
            scoring.written(frame, merged, [r for r in records if routes.get((r.frame_index, r.face_index)) == name])
    return written


def _session_merger(app: AppContext, device, session: MergeSession | None, base: Merger,
                    overrides: tuple[str, ...]) -> Merger | SessionMerger:
    """One Merger per style of the session; ``base`` (the session's own settings) runs the model."""
    if session is None:
        return base

    def make(style: PasteStyle) -> Merger:
        if style == session.settings:
            return base
        options = app.plugin_options({"color": [style.color], "blender": [style.blender]}, overrides)
        return Merger(base.swapper, app.registry.create("color", style.color, options["color"][style.color], device),
                      app.registry.create("blender", style.blender, options["blender"][style.blender], device),
                      style.merge_settings(base.settings), 1.0)

    return build_session_merger(session, make)


def _report(app: AppContext, tools: ScoreTools, scoring: LiveScoring, model_info: dict, faces_set: FaceSet,
            source, output: Path, folder: Path) -> None:
    """Score what was just merged and say it in two lines (the video is already complete)."""
    faces = scoring.finish()
    if not faces:
        click.echo("report: no swapped face in the scored frames; nothing to report")
        return
    sampling = scoring.collector.sampling
    context = ScoreContext(str(source.info.path), str(output), source.info.frame_count, sampling.every,
                           sampling.length,
                           tuple(dict.fromkeys(split_spec(app.workspace, n)[0]
                                             for n in model_info.get("facesets", {}).get("src", ["src"]))),
                           faces_set.folder.name)
    report, page = finish_report(app.workspace, tools, faces, context, faces_set, folder)
    click.echo(f"quality: {report.headline}")
    if "identity" in report.context.extra:
        click.echo(f"quality: identity {report.context.extra['identity']}")
    click.echo(f"quality report -> {page}")


def _preview(app: AppContext, source, faces, merger: Merger | MultiMerger | SessionMerger, index: int, output: Path | None, video: Path) -> None:
    if index >= source.info.frame_count:
        raise InputError(f"--preview-frame {index} is past the last frame ({source.info.frame_count - 1})")
    frame = next(iter(source.frames(start=index)))
    _, merged, count = merger.merge_chunk([frame], faces)[0]
    path = output or app.workspace.ensure(app.workspace.output) / f"{video.stem}_frame{index}.png"
    write_image(path, np.concatenate([frame.image, merged], axis=1))
    click.echo(f"frame {index}: {count} faces swapped; before | after -> {path}")

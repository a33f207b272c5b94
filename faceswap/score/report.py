"""Write a score report: ``report.json`` (every figure and every face) and a one-page,
self-contained ``report.html`` (figures first, then per-frame curves, then the worst faces)."""
from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceswap import __version__
from faceswap.atomic import write_atomic, write_json_atomic
from faceswap.score.plots import jpeg_data_uri, side_by_side, svg_curve
from faceswap.score.scorer import FaceScore
from faceswap.score.summary import METRICS, headline, per_face_values, summarise

WORST_SHOWN = 4


@dataclass(frozen=True)
class ScoreContext:
    """What was scored and how (goes into the report as is)."""

    original: str
    swapped: str
    frames: int
    every: int
    run: int
    source_sets: tuple[str, ...]
    destination_set: str
    identity_model: str = "dlib_face_recognition_resnet_model_v1 (128-d, centred cosine)"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreReport:
    context: ScoreContext
    summary: dict[str, Any]
    faces: list[FaceScore]

    @property
    def headline(self) -> str:
        return headline(self.summary)

    def to_json(self) -> dict[str, Any]:
        context = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self.context).items()}
        return {"faceswap_version": __version__, "created": time.strftime("%Y-%m-%d %H:%M:%S"), **context,
                "faces_scored": len(self.faces), "headline": self.headline,
                "metrics_help": {m.key: m.help for m in METRICS}, "summary": self.summary,
                "faces": [f.to_json() for f in self.faces]}


def build_report(context: ScoreContext, faces: Sequence[FaceScore]) -> ScoreReport:
    return ScoreReport(context, summarise(faces, context.source_sets), list(faces))


def write_report(report: ScoreReport, folder: Path) -> Path:
    """``folder/report.json`` and ``folder/report.html``; returns the HTML path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "report.json", report.to_json())
    page = folder / "report.html"
    write_atomic(page, render_html(report).encode("utf-8"))
    return page


def table_rows(report: ScoreReport) -> list[tuple[str, str, str, str]]:
    """(metric, mean, worst 5%, ideal) as text, for the terminal and the page."""
    rows = []
    for metric in METRICS:
        entry = report.summary[metric.key]
        rows.append((f"{metric.label} ({metric.unit})", _fmt(entry["mean"]), _fmt(entry["worst5"]),
                     _fmt(metric.ideal)))
    bias = report.summary["pose_error"].get("bias")
    if bias is not None:        # a constant turn of the swap (or of how its face shape reads) in every frame
        rows.append(("pose bias, yaw / pitch / roll (deg)", " / ".join(f"{v:+.1f}" for v in bias), "", "0"))
    gain = report.summary["pose_error"].get("gain")
    if gain:                    # below 1: the swap turns less than the head (poses the source never showed)
        rows.append(("pose gain, yaw / pitch", " / ".join("-" if v is None else f"{v:.2f}" for v in gain[:2]), "",
                     "1"))
    rows.append(("faces closer to source than destination", _pct(report.summary["closer_to_source"]), "", "100%"))
    rows.append(("faces whose nearest face set is the source", _pct(report.summary["top1_source"]), "", "100%"))
    return rows


def render_html(report: ScoreReport) -> str:
    ctx = report.context
    values = per_face_values(report.faces)
    parts = [_HEAD, f"<h1>faceswap score</h1><p class='what'>{html.escape(ctx.swapped)} against "
             f"{html.escape(ctx.original)}: {len(report.faces)} faces in {ctx.frames} frames "
             f"(runs of {ctx.run} frames every {ctx.every}); source {html.escape(', '.join(ctx.source_sets))}, "
             f"destination {html.escape(ctx.destination_set)}; identity model {html.escape(ctx.identity_model)}.</p>",
             f"<p class='headline'>{html.escape(report.headline)}</p>", _figures(report)]
    parts.append("<h2>Per frame</h2><div class='curves'>")
    for metric in METRICS:
        points = values[metric.key]
        frames = [report.faces[i].frame for i, _ in points]
        parts.append(svg_curve(frames, [v for _, v in points], metric.ideal, f"{metric.label} ({metric.unit})",
                               metric.span))
    parts.append("</div><h2>Worst faces (original | swapped)</h2>")
    for metric in METRICS:
        parts.append(_worst(report.faces, values[metric.key], metric.label, metric.better))
    parts.append("</body></html>")
    return "\n".join(parts)


def _figures(report: ScoreReport) -> str:
    help_by_label = {f"{m.label} ({m.unit})": m.help for m in METRICS}
    rows = "".join(
        f"<tr><td title='{html.escape(help_by_label.get(name, ''))}'>{html.escape(name)}</td>"
        f"<td>{mean}</td><td>{worst}</td><td>{ideal}</td><td class='help'>{html.escape(help_by_label.get(name, ''))}</td></tr>"
        for name, mean, worst, ideal in table_rows(report))
    return ("<table class='figures'><tr><th>metric</th><th>mean</th><th>worst 5%</th><th>ideal</th>"
            f"<th>meaning</th></tr>{rows}</table>")


def _worst(faces: Sequence[FaceScore], points: list[tuple[int, float]], label: str, better: str) -> str:
    if not points:
        return ""
    ordered = sorted(points, key=lambda p: p[1], reverse=better == "lower")[:WORST_SHOWN]
    cells = []
    for index, value in ordered:
        face = faces[index]
        if face.thumbs is None:
            continue
        uri = jpeg_data_uri(side_by_side(*face.thumbs))
        cells.append(f"<figure><img src='{uri}' alt='frame {face.frame}'>"
                     f"<figcaption>frame {face.frame}: {value:.3g}</figcaption></figure>")
    return f"<h3>{html.escape(label)}</h3><div class='sheet'>{''.join(cells)}</div>"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


_HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>faceswap score</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
h1{margin:0 0 4px}h2{margin-top:28px;border-bottom:1px solid #ddd}h3{margin:14px 0 4px;font-size:14px}
.what{color:#555}.headline{font-weight:600;background:#f4f6fa;padding:8px}
table.figures{border-collapse:collapse}table.figures td,table.figures th{border:1px solid #ddd;padding:3px 8px}
table.figures td:nth-child(n+2):nth-child(-n+4){text-align:right;font-variant-numeric:tabular-nums}
.help{color:#666;font-size:12px}
div.curves{display:flex;flex-wrap:wrap;gap:4px 24px}svg.curve{display:block;margin:6px 0}svg .frame{fill:none;stroke:#ccc}svg .ideal{stroke:#2a9d4a;stroke-dasharray:4 3}
svg .line{fill:none;stroke:#1f5fbf;stroke-width:1.2}svg .dots{fill:#1f5fbf}
svg .title{font-size:12px;fill:#222}svg .tick{font-size:10px;fill:#777}
.sheet{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0}figcaption{font-size:12px;color:#555}
.empty{color:#999}
</style></head><body>"""

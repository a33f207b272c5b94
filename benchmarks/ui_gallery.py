"""Face set browser on 5,000 real faces, measured in headless Chromium (Debian's, through playwright).

Builds (once, in --work) a face set of 5,000 real faces: the faces of a few short cuts of real clips
from the shared media, then copies of them with their records, each on a frame and track of its own
(so a name of its own) and its pixels shifted by a grey level or two, serves it with ``faceswap ui``
and measures:
- first page: from clicking "Face sets" to every thumbnail in the window drawn, thumbnail cache cold;
- thumbnails: the first 300 fetched by the page at once, server cache cold, then warm (browser cache off);
- frame times of the page standing still for 5 s (what the machine itself allows);
- scrolling the whole gallery to its end, 40 px per frame: requestAnimationFrame deltas (median,
  p95, longest), pages loaded on the way, and how many <img> the page holds at the end.
Writes benchmarks/results/ui_gallery.json. Never asserts on time.

Run: python benchmarks/ui_gallery.py [--faces 5000] [--work DIR (kept, reused)] [--label NAME]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests" / "ui")]

from faces import MEDIA, copied_set, extracted_once          # noqa: E402  (benchmarks/faces.py)
from ui_helpers import CHROMIUM, start_server, stop_server     # noqa: E402  (tests/ui/ui_helpers.py)

import numpy as np  # noqa: E402

from faceswap.extract.pipeline import ExtractSettings  # noqa: E402
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins  # noqa: E402
from faceswap.faceset.store import FaceSet  # noqa: E402
from faceswap.media.ffmpeg_tool import ffmpeg_exe  # noqa: E402
from faceswap.registry import Registry  # noqa: E402
from faceswap.runtime.device import resolve_device  # noqa: E402

CLIPS = ("aoc__retalking_face3.mp4", "eric_swalwell__retalking_face2.mp4", "man_glasses__liveportrait_d9.mp4",
         "obama__weekly_address.mp4", "young_woman__liveportrait_d10.mp4")
CUT_FRAMES = 60
EVERY = 3

SCROLL_JS = """async (step) => {
  const deltas = []; let last = performance.now(); const t0 = last; let stuck = 0, lastY = -1;
  window.scrollTo(0, 0);
  await new Promise((done) => {
    function frame(now) {
      deltas.push(now - last); last = now;
      window.scrollBy(0, step);
      const f = S.faces, atEnd = window.scrollY + innerHeight >= document.documentElement.scrollHeight - 2;
      stuck = window.scrollY === lastY ? stuck + 1 : 0; lastY = window.scrollY;
      if ((atEnd && f.offset >= f.total && !f.loading) || now - t0 > 180000 || stuck > 600) done(); else requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
  });
  return { deltas: deltas.slice(1), seconds: (performance.now() - t0) / 1000, loaded: S.faces.offset,
           total: S.faces.total, imgs: document.querySelectorAll("#g-grid img").length,
           height: document.documentElement.scrollHeight };
}"""

IDLE_JS = """async (ms) => {
  const deltas = []; let last = performance.now(); const t0 = last;
  await new Promise((done) => { function frame(now) { deltas.push(now - last); last = now;
    if (now - t0 > ms) done(); else requestAnimationFrame(frame); } requestAnimationFrame(frame); });
  return deltas.slice(1);
}"""

THUMBS_JS = """async ([set, names]) => {
  const t0 = performance.now();
  await Promise.all(names.map((n) => fetch(`/api/facesets/${set}/thumb/${n}`, { cache: "no-store" }).then((r) => r.blob())));
  return performance.now() - t0;
}"""


def real_faces(work: Path) -> list[Path]:
    """Short cuts of real clips, extracted once (kept in ``work``)."""
    plugins = build_extract_plugins(Registry.discover(), ExtractChoice(), {}, resolve_device("cpu"))
    return [path for clip in CLIPS
            for path in extracted_once(short_cut(work, clip), work / "real" / Path(clip).stem, plugins,
                                       ExtractSettings(every=EVERY, max_faces=1))]


def short_cut(work: Path, clip: str) -> Path:
    """The first CUT_FRAMES frames of a shared clip, cut once into ``work``."""
    cut = work / "clips" / clip
    if not cut.exists():
        cut.parent.mkdir(parents=True, exist_ok=True)
        partial = cut.with_name(f"partial_{clip}")
        subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(MEDIA / "video" / clip),
                        "-frames:v", str(CUT_FRAMES), "-an", "-c:v", "libx264", "-preset", "ultrafast",
                        "-crf", "18", str(partial)], check=True)
        partial.replace(cut)
    return cut


def build_set(work: Path, sources: list[Path], count: int) -> FaceSet:
    """``count`` faces: face i is a copy of real face i % len(sources) on frame i, track i // 25."""
    def place(i: int, data: dict, image: np.ndarray) -> np.ndarray:
        data["source"]["frame"], data["track"], data["face_index"] = i, i // 25, 0
        return np.clip(image.astype(np.int16) + i // len(sources) % 3, 0, 255).astype(np.uint8)

    return copied_set(work, sources, count, place)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(ws: Path, set_name: str, log: Path) -> dict:
    import playwright.sync_api as playwright

    shutil.rmtree(ws / "cache" / "thumbs", ignore_errors=True)         # cold thumbnail cache
    server, base = start_server(ws, log)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/#workspace")
            page.wait_for_function(f"[...document.getElementById('g-set').options].some(o => o.value === '{set_name}')")
            assert page.input_value("#g-set") == set_name, "the workspace holds other face sets: use a --work of its own"
            started = time.perf_counter()
            page.click("nav a[data-page='faces']")
            page.wait_for_function("""() => { const imgs = [...document.querySelectorAll('#g-grid img')];
                const shown = imgs.filter((i) => i.getBoundingClientRect().top < innerHeight);
                return shown.length > 0 && shown.every((i) => i.complete && i.naturalWidth > 0); }""", timeout=120_000)
            first_page_ms = (time.perf_counter() - started) * 1000
            shutil.rmtree(ws / "cache" / "thumbs", ignore_errors=True)
            names = sorted(p.name for p in (ws / "facesets" / set_name / "faces").iterdir())[:300]
            cold_ms = page.evaluate(THUMBS_JS, [set_name, names])
            warm_ms = page.evaluate(THUMBS_JS, [set_name, names])
            idle = page.evaluate(IDLE_JS, 5000)         # the machine's own frame times, nothing moving
            scroll = page.evaluate(SCROLL_JS, 40)
            browser.close()
    finally:
        stop_server(server)
    deltas = scroll.pop("deltas")
    return {"idle_frames": {"frames": len(idle), "median_ms": round(percentile(idle, 0.5), 1),
                            "p95_ms": round(percentile(idle, 0.95), 1), "longest_ms": round(max(idle), 1)},
            "first_page_ms": round(first_page_ms, 1),
            "thumbs_300_cold_ms": round(cold_ms, 1), "thumbs_300_warm_ms": round(warm_ms, 1),
            "scroll": {**scroll, "frames": len(deltas), "median_ms": round(percentile(deltas, 0.5), 1),
                       "p95_ms": round(percentile(deltas, 0.95), 1), "longest_ms": round(max(deltas), 1),
                       "over_50ms": sum(d > 50 for d in deltas)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=5000)
    parser.add_argument("--work", type=Path, help="Folder to build in and keep (default: a temporary one).")
    parser.add_argument("--label", default="", help="Name of this run in the results file (e.g. before/after).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        faces = build_set(work, real_faces(work), args.faces)
        shutil.rmtree(faces.folder / "rejected", ignore_errors=True)
        load = os.getloadavg()[0]
        figures = measure(work / "ws", faces.folder.name, work / "server.log")
    figures.update(faces=args.faces, load_average_before=load, cores=os.cpu_count(), machine=platform.platform(),
                   date=time.strftime("%Y-%m-%d %H:%M"), chromium=CHROMIUM)
    s = figures["scroll"]
    print(f"{args.faces} faces: first page {figures['first_page_ms']:.0f} ms (cold thumbnails); 300 thumbnails "
          f"cold {figures['thumbs_300_cold_ms']:.0f} ms, warm {figures['thumbs_300_warm_ms']:.0f} ms")
    print(f"scroll to the end ({s['loaded']}/{s['total']} faces, {s['imgs']} <img> in the page, {s['seconds']:.1f} s, "
          f"{s['frames']} frames): median {s['median_ms']} ms, p95 {s['p95_ms']} ms, longest {s['longest_ms']} ms, "
          f"{s['over_50ms']} frames over 50 ms (load average {load:.1f})")
    i = figures["idle_frames"]
    print(f"the same page standing still: median {i['median_ms']} ms, p95 {i['p95_ms']} ms, longest {i['longest_ms']} ms")
    path = ROOT / "benchmarks" / "results" / "ui_gallery.json"
    runs = json.loads(path.read_text()) if path.is_file() else {}
    runs[args.label or "latest"] = figures
    path.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()

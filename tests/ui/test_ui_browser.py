"""``faceswap ui`` driven in a real headless browser (Debian's chromium), on real faces and a real model."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from conftest import VIDEO, cut
from ui_helpers import browser_page, needs_chromium, page_error, pixelate_faces, start_server, stop_server

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e .[test]")
pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture
def server(model_ws: Path, tmp_path: Path):
    """The real CLI serving a workspace with face sets 'src'/'dst', a tiny trained 'sae' and Katie's clip."""
    uploads = model_ws / "uploads"
    uploads.mkdir()
    shutil.copy(VIDEO / "katie_hill__hdtf_wda_000.mp4", uploads / "dst.mp4")    # the 'dst' set's own video
    proc, base = start_server(model_ws, tmp_path / "server.log")
    yield base, model_ws
    stop_server(proc)


def test_every_page_in_a_real_browser(server, tmp_path):
    base, ws = server
    clip = cut(VIDEO / "aoc__hdtf_wda_000.mp4", tmp_path / "aoc5.mp4", 1.0, 5)
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    requests: list[str] = []
    with browser_page(playwright, requests) as page:     # only the app's own address resolves
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url))

        # Workspace: inventory, then a tiny extract of an uploaded clip, progress from the real job
        page.goto(base + "/#workspace")
        page.wait_for_selector("#t-facesets td")
        assert "src" in page.inner_text("#t-facesets") and "sae" in page.inner_text("#t-models")
        page.set_input_files("#x-file", str(not_video))
        page.click("#x-start")
        page_error(page, "not a video")
        assert not [p for p in (ws / "uploads").iterdir() if p.name != "dst.mp4"], "no partial upload left"
        page.set_input_files("#x-file", [])
        page.fill("#x-source", str(tmp_path / "missing.mp4"))
        page.click("#x-start")
        page_error(page, "not found")
        page.fill("#x-source", "")
        page.set_input_files("#x-file", str(clip))
        page.click("#x-start")
        page.wait_for_selector("#t-jobs .state:text('done')", timeout=120_000)
        page.wait_for_function("document.getElementById('t-facesets').textContent.includes('aoc5')")
        assert len(list((ws / "facesets" / "aoc5" / "faces").glob("*.png"))) == 5
        page.screenshot(path=str(tmp_path / "workspace.png"))

        # Face set browser: a face's metadata, reject it, it leaves the gallery and lands in rejected/
        page.goto(base + "/#faces")
        page.select_option("#g-set", "src")
        page.wait_for_function("document.querySelectorAll('#g-grid img').length === 8")
        first = page.get_attribute("#g-grid img >> nth=0", "data-name")
        page.click("#g-grid img >> nth=0")
        page.wait_for_function("document.getElementById('g-meta').textContent.includes('frame_index: 0')")
        page.screenshot(path=str(tmp_path / "faces.png"))
        pixelate_faces(page, "#g-grid img", blocks=8)                # the copy for docs/ui/faces.png
        page.screenshot(path=str(tmp_path / "faces_docs.png"))
        page.click("#g-reject")
        page.wait_for_function("document.querySelectorAll('#g-grid img').length === 7")
        assert page.query_selector(f"#g-grid img[data-name='{first}']") is None
        assert (ws / "facesets" / "src" / "rejected" / first).is_file()
        assert not (ws / "facesets" / "src" / "faces" / first).exists()
        # the rejected view: restore moves it back with 'faceswap faces restore's own code
        page.check("#g-rejected")
        page.wait_for_function("document.querySelectorAll('#g-grid img').length === 1")
        assert page.get_attribute("#g-grid img", "data-name") == first and page.is_hidden("#g-reject")
        page.click("#g-grid img >> nth=0")
        page.click("#g-restore")
        page.wait_for_function("document.querySelectorAll('#g-grid img').length === 0")
        assert "1 faces restored" in page.inner_text("#msg")
        assert (ws / "facesets" / "src" / "faces" / first).is_file()
        assert not (ws / "facesets" / "src" / "rejected" / first).exists()
        page.uncheck("#g-rejected")
        page.wait_for_function("document.querySelectorAll('#g-grid img').length === 8")

        # Training: the model's state, loss plot and preview grid, from the files train wrote
        page.goto(base + "/#train")
        page.wait_for_function("document.getElementById('tr-status').textContent.includes('iteration 2')")
        page.fill("#tr-batch", "0")
        page.click("#tr-start")
        page_error(page, "batch 0 is out of range")
        page.screenshot(path=str(tmp_path / "train.png"))

        # Merge tuner: the slider changes the before | after preview; a bad value is one line
        page.goto(base + "/#merge")
        page.select_option("#m-video", "dst.mp4")
        page.click("#m-open")
        page.wait_for_function("document.getElementById('m-preview').dataset.seq")
        first_src = page.get_attribute("#m-preview", "src")
        assert "1 faces" in page.inner_text("#m-time")
        page.eval_on_selector("#m-frame", "e => { e.value = 25; e.dispatchEvent(new Event('input')); }")
        page.wait_for_function(f"document.getElementById('m-preview').src !== '{first_src}' "
                               f"&& document.getElementById('m-preview').dataset.frame === '25'")
        page.eval_on_selector("#m-erode", "e => { e.value = 0.08; e.dispatchEvent(new Event('input')); }")
        page.eval_on_selector("#m-sharpen", "e => { e.value = 0.5; e.dispatchEvent(new Event('input')); }")
        assert page.input_value("#m-sharpen-v") == "0.5"
        page.fill("#m-from", "20")
        page.fill("#m-to", "40")
        page.click("#m-range")
        page.click("#m-save")
        page.wait_for_function("document.getElementById('msg').textContent.includes('session saved')")
        page.screenshot(path=str(tmp_path / "merge.png"))
        session = json.loads((ws / "sessions" / "dst.json").read_text())
        assert session["ranges"] == [{"start": 20, "end": 40, "settings": {"erode": 0.08, "sharpen": 0.5}}]
    outside = [url for url in requests if not url.startswith((base, "blob:", "data:"))]
    assert not outside, f"the page fetched from elsewhere: {outside}"
    assert not [url for url in failed if url.startswith(base) and "/preview" not in url], failed
    for name in ("workspace", "faces", "train", "merge"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_start_and_stop_training_from_the_page(server, tmp_path):
    """Resume the tiny model from the Training page, watch it train, stop it: it saves, the job says stopped."""
    base, ws = server
    folder = ws / "models" / "sae"
    before = json.loads((folder / "trainer.json").read_text())["iteration"]
    with browser_page(playwright) as page:
        page.goto(base + "/#train")
        page.wait_for_function(f"document.getElementById('tr-status').textContent.includes('iteration {before}')")
        page.fill("#tr-batch", "4")
        page.fill("#tr-preview", "3")
        started = time.time()
        page.click("#tr-start")
        page.wait_for_function("document.getElementById('tr-status').textContent.includes('samples/s')",
                               timeout=120_000)
        page.wait_for_function("document.querySelectorAll('#tr-loss polyline').length === 2 && "
                               "!document.getElementById('tr-preview-img').hidden", timeout=120_000)
        page.screenshot(path=str(tmp_path / "train_running.png"))
        page.click("#tr-stop")
        page.goto(base + "/#workspace")
        page.wait_for_selector("#t-jobs .state:text('stopped')", timeout=120_000)
        page.screenshot(path=str(tmp_path / "train_stopped.png"))
    saved = json.loads((folder / "trainer.json").read_text())
    assert saved["iteration"] > before, "stopping saved a checkpoint past where it started"
    assert (folder / "weights.safetensors").stat().st_mtime >= started
    assert saved["iteration"] == max(json.loads(line)["iteration"] for line in open(folder / "loss.jsonl"))

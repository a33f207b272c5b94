"""The mask-labels page in a real headless browser: paint polygons on a real face, save them into its record."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from faceswap.faceset.store import FaceSet
from faceswap.segment.truth import label_mask
from ui_helpers import (browser_page, needs_chromium, page_error, page_info, pixelate_faces, start_server,
                        stop_server)

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e .[test]")
pytestmark = [pytest.mark.slow, needs_chromium]

SQUARE = [(60, 60), (324, 60), (324, 330), (60, 330)]      # display pixels of the 384 px face view
TRIANGLE = [(150, 250), (240, 250), (195, 330)]


@pytest.fixture
def server(train_ws: Path, tmp_path: Path):
    proc, base = start_server(train_ws, tmp_path / "server.log")
    yield base, train_ws
    stop_server(proc)


def _record(ws: Path, name: str):
    """The face's record, read through the face set API."""
    return dict((path.name, record) for path, record in FaceSet(ws / "facesets" / "src").records())[name]


def _polygon(page, points) -> None:
    for x, y in points:
        page.click("#mk-canvas", position={"x": x, "y": y})
    page.click("#mk-close")


def test_paint_and_save_mask_labels(server, tmp_path):
    base, ws = server
    requests: list[str] = []
    with browser_page(playwright, requests) as page:
        page.goto(base + "/#masks")
        page.wait_for_function("document.getElementById('mk-set').options.length > 0")
        page.select_option("#mk-set", "src")
        page.wait_for_function("document.getElementById('mk-info').textContent.includes('0 label polygons stored')")
        page.wait_for_function("document.getElementById('mk-overlay').complete && "
                               "document.getElementById('mk-img').naturalWidth > 0")
        face = page.input_value("#mk-face")
        assert page.input_value("#mk-mask") == "extended"          # the extraction's mask, shown as an overlay

        # bad input: a 2-point polygon, closed in the page, then sent to the server's label parser
        page.click("#mk-canvas", position={"x": 100, "y": 100})
        page.click("#mk-canvas", position={"x": 200, "y": 100})
        page.click("#mk-close")
        page_error(page, "at least 3 points (this one has 2)")
        page.click("#mk-save")
        page_error(page, "needs at least 3")
        assert _record(ws, face).labels == ()
        page.click("#mk-undo")
        page.click("#mk-undo")

        # an include square, an exclude triangle (a "microphone") over its lower part
        _polygon(page, SQUARE)
        page.check("input[name='mk-kind'][value='exclude']")
        _polygon(page, TRIANGLE)
        page.click("#mk-save")
        page_info(page, f"2 label polygons saved in {face}")
        page.screenshot(path=str(tmp_path / "masks.png"))

        record = _record(ws, face)
        assert [label.kind for label in record.labels] == ["include", "exclude"]
        scale = record.size / 384
        assert np.allclose(record.labels[0].points, np.array(SQUARE) * scale, atol=0.6)
        assert np.allclose(record.labels[1].points, np.array(TRIANGLE) * scale, atol=0.6)
        mask = label_mask(record.labels, record.size)
        assert mask[int(100 * scale), int(190 * scale)] > 0.99         # inside the square
        assert mask[int(300 * scale), int(195 * scale)] < 0.01         # inside the triangle: cut out
        assert mask[int(20 * scale), int(20 * scale)] < 0.01           # outside both

        # the page shows the stored labels again after a reload
        page.reload()
        page.wait_for_function("document.getElementById('mk-set').options.length > 0")
        page.select_option("#mk-set", "src")
        page.select_option("#mk-face", face)
        page.wait_for_function("document.getElementById('mk-info').textContent.includes('2 label polygons stored')")

        # unknown face: rejected from under the page, then saved
        (ws / "facesets" / "src" / "rejected").mkdir()
        shutil.move(ws / "facesets" / "src" / "faces" / face, ws / "facesets" / "src" / "rejected" / face)
        page.click("#mk-save")
        page_error(page, f"has no face {face}")
        shutil.move(ws / "facesets" / "src" / "rejected" / face, ws / "facesets" / "src" / "faces" / face)

        # mask train as a CLI job (2 steps on the labelled face), then mask apply with its model
        page.fill("#mk-iters", "2")
        page.fill("#mk-batch", "2")
        page.click("#mk-train")
        page.wait_for_selector("#mk-jobs .state:text('done')", timeout=180_000)
        assert "2/2" in page.inner_text("#mk-jobs")
        assert (ws / "models" / "segment" / "trainer.json").is_file()
        page.check("#mk-own")
        # mask apply as a CLI job with its progress; the new mask is offered on the face afterwards
        page.click("#mk-apply")
        page.wait_for_function("document.querySelectorAll('#mk-jobs .state').length === 2 && "
                               "document.querySelector('#mk-jobs .state').textContent === 'done'", timeout=180_000)
        assert "8/8" in page.inner_text("#mk-jobs")
        page.wait_for_function("[...document.getElementById('mk-mask').options].some(o => o.value === 'segment')")
        after = _record(ws, face)
        assert "segment" in after.masks and [label.kind for label in after.labels] == ["include", "exclude"]
        page.select_option("#mk-mask", "segment")
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / "masks_segment.png"))
        pixelate_faces(page, "#mk-img")                             # the copy for docs/ui/masks.png
        page.screenshot(path=str(tmp_path / "masks_docs.png"))
    assert not [url for url in requests if not url.startswith((base, "data:", "blob:"))]
    assert (tmp_path / "masks.png").stat().st_size > 10_000

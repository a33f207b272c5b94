"""Helpers of the browser tests: the real ``faceswap ui`` server as a subprocess, Debian's chromium with every
outside host unresolvable, and the page's one-line error."""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="Debian's chromium is not installed (apt install chromium)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(ws: Path, log_path: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """``faceswap --workspace WS ui`` on a free port, once it answers; (process, base URL)."""
    port = port or free_port()
    log = open(log_path, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "faceswap", "--workspace", str(ws), "--device", "cpu",
                             "ui", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/api/jobs", timeout=1)
            return proc, base
        except OSError:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.1)
    raise AssertionError(f"faceswap ui did not answer: {log_path.read_text()}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


@contextlib.contextmanager
def browser_page(playwright, requests: list[str] | None = None) -> Iterator:
    """A 1280x900 page of headless chromium that can reach 127.0.0.1 only."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        if requests is not None:
            page.on("request", lambda r: requests.append(r.url))
        try:
            yield page
        finally:
            browser.close()


def page_error(page, text: str) -> str:
    """Wait for the page's one-line error containing ``text``; return it."""
    page.wait_for_function("t => { const m = document.getElementById('msg'); "
                           "return m.className === 'error' && m.textContent.includes(t); }", arg=text)
    line = page.inner_text("#msg")
    assert "\n" not in line.strip()
    return line


def page_info(page, text: str) -> str:
    """Wait for the page's info line containing ``text``; return it."""
    page.wait_for_function("t => document.getElementById('msg').textContent.includes(t)", arg=text)
    assert page.get_attribute("#msg", "class") == "info", page.inner_text("#msg")
    return page.inner_text("#msg")


PIXELATE_JS = """([selector, blocks]) => Promise.all([...document.querySelectorAll(selector)].map(async (img) => {
  if (!img.complete || !img.naturalWidth) await new Promise((done) => { img.onload = done; img.onerror = done; });
  const c = document.createElement("canvas"); c.width = blocks; c.height = Math.max(1, Math.round(blocks * img.naturalHeight / img.naturalWidth));
  c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
  img.style.imageRendering = "pixelated"; img.src = c.toDataURL();
  await new Promise((done) => { img.onload = done; });
}))"""


def pixelate_faces(page, selector: str, blocks: int = 12) -> None:
    """Replace the images matching ``selector`` by ``blocks``-wide mosaics of themselves, for screenshots
    shown in the docs (real people's faces are never shown there unpixelated); overlays drawn on top stay."""
    page.evaluate(PIXELATE_JS, [selector, blocks])

"""Issue 14.5: truncated videos and broken images are reported, never taken for complete input."""
from __future__ import annotations

import logging
import shutil
import subprocess

from cliruns import run_cli
from conftest import PHOTOS, VIDEO
from faceswap.faceset.store import FaceSet
from faceswap.media.ffmpeg_tool import ffmpeg_exe


def test_truncated_video_is_reported_and_not_marked_complete(tmp_path, caplog):
    full = tmp_path / "full.mp4"       # index at the front, as phones and editors write them
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(VIDEO / "aoc__hdtf_wda_000.mp4"),
                    "-frames:v", "30", "-c:v", "libx264", "-preset", "ultrafast", "-an", "-movflags", "+faststart",
                    str(full)], check=True)
    cut_short = tmp_path / "upload.mp4"
    data = full.read_bytes()
    cut_short.write_bytes(data[:int(len(data) * 0.6)])        # an upload that stopped part way
    ws = tmp_path / "ws"
    with caplog.at_level(logging.WARNING):
        result = run_cli(ws, "extract", str(cut_short), "--every", "3")
    assert result.exit_code == 0, result.output
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("upload.mp4" in w and "truncated or damaged" in w for w in warnings), warnings
    faceset = FaceSet(ws / "facesets" / "upload")
    assert not faceset.read_manifest().complete
    assert 0 < len(faceset) < 10


def test_a_broken_image_is_skipped_and_leaves_nothing_that_blocks_a_retry(tmp_path, caplog):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(PHOTOS / "obama" / "obama.jpg", folder / "a_obama.jpg")
    (folder / "b_broken.jpg").write_bytes((PHOTOS / "biden" / "biden2.jpg").read_bytes()[:200])   # cut short
    shutil.copy(PHOTOS / "biden" / "biden2.jpg", folder / "c_biden.jpg")
    ws = tmp_path / "ws"
    with caplog.at_level(logging.WARNING):
        result = run_cli(ws, "extract", str(folder))
    assert result.exit_code == 0, result.output
    assert any("b_broken.jpg" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    names = sorted(r.frame_name for _, r in FaceSet(ws / "facesets" / "photos").records())
    assert names == ["a_obama.jpg", "c_biden.jpg"]


def test_a_run_that_found_nothing_does_not_block_the_next(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(PHOTOS / "obama" / "obama.jpg", folder / "a_obama.jpg")
    ws = tmp_path / "ws"
    faceset = FaceSet(ws / "facesets" / "photos")
    faceset.faces_dir.mkdir(parents=True)
    faceset.manifest_path.write_text('{"source_name": "photos", "source_size": 1, "source_sha256": "old", "fps": "0", '
                                     '"frame_count": 3, "width": 1, "height": 1, "face_size": 256, "coverage": 2.2, '
                                     '"settings": {}, "plugins": [], "frames_done": 0}')   # a failed first run
    result = run_cli(ws, "extract", str(folder))
    assert result.exit_code == 0, result.output
    assert len(faceset) == 1 and faceset.read_manifest().complete

"""Issue 14.9: a colon in a file name is a file, not a URL."""
from __future__ import annotations

from cliruns import run_cli
from conftest import VIDEO, cut
from faceswap.faceset.store import FaceSet
from faceswap.media.probe import probe


def test_file_names_with_a_colon_extract_and_merge(model_ws, tmp_path, monkeypatch):
    cut(VIDEO / "aoc__hdtf_wda_000.mp4", tmp_path / "clip:1.mp4", start=0.0, frames=6)
    monkeypatch.chdir(tmp_path)
    extracted = run_cli(model_ws, "extract", "clip:1.mp4")
    assert extracted.exit_code == 0, extracted.output
    assert len(FaceSet(model_ws / "facesets" / "clip:1")) == 6
    merged = run_cli(model_ws, "merge", "clip:1.mp4", "-o", "take:2.mp4", "--preset", "ultrafast")
    assert merged.exit_code == 0, merged.output
    info = probe(tmp_path / "take:2.mp4")
    assert info.frame_count == 6 and info.has_audio

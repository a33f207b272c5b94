"""Issue 14.10: training warns when its input cannot teach a swap."""
from __future__ import annotations

import logging

from cliruns import run_cli
from tiny import tiny_cli_options

ARGS = ("train", "--iters", "1", "--batch", "2", "--workers", "0", "--preview-every", "0", *tiny_cli_options())


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def test_a_one_face_set_is_warned_about(train_ws, caplog):
    for face in sorted((train_ws / "facesets" / "src" / "faces").glob("*.png"))[1:]:
        face.unlink()
    with caplog.at_level(logging.WARNING):
        result = run_cli(train_ws, *ARGS)
    assert result.exit_code == 0, result.output
    assert any("face set 'src' holds only 1 face" in w for w in _warnings(caplog)), _warnings(caplog)


def test_the_same_set_on_both_sides_is_warned_about(train_ws, caplog):
    with caplog.at_level(logging.WARNING):
        result = run_cli(train_ws, *ARGS, "--src", "dst", "--dst", "dst")
    assert result.exit_code == 0, result.output
    assert any("src and dst" in w and "'dst'" in w for w in _warnings(caplog)), _warnings(caplog)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        normal = run_cli(train_ws, *ARGS, "--name", "normal")
    assert normal.exit_code == 0 and not _warnings(caplog), _warnings(caplog)

from dataclasses import dataclass
from pathlib import Path

import pytest

from faceswap.errors import OptionError
from faceswap.options import build_options, check_options_class, describe, option, parse_overrides


@dataclass(frozen=True)
class Opts:
    threshold: float = option(0.5, "score", min=0.0, max=1.0)
    size: int = option(640, "side", min=32)
    mode: str = option("fast", "speed", choices=("fast", "slow"))
    flip: bool = option(False, "mirror")
    root: Path | None = option(None, "folder")
    scales: tuple[float, ...] = option((1.0,), "scales")
    dims: int = option(256, "latent", locked=True)


def test_strings_are_coerced_by_type():
    opts = build_options(Opts, {"threshold": "0.7", "size": "320", "flip": "yes", "root": "/tmp",
                                "scales": "0.5, 2", "mode": "slow"}, "detector 'x'")
    assert opts == Opts(0.7, 320, "slow", True, Path("/tmp"), (0.5, 2.0))
    assert build_options(Opts, {"root": "none"}, "x").root is None


def test_all_problems_are_reported_at_once_with_suggestions():
    with pytest.raises(OptionError) as err:
        build_options(Opts, {"treshold": "0.1", "size": "ten", "mode": "fsat", "threshold": "3"}, "detector 'x'")
    message = str(err.value)
    assert "unknown option 'treshold'" in message and "did you mean 'threshold'" in message
    assert "expected int, got 'ten'" in message
    assert "'fsat' is not one of: fast, slow" in message
    assert "above the maximum 1.0" in message


def test_describe_lists_help_and_lock():
    rows = {r.name: r for r in describe(Opts)}
    assert rows["threshold"].spec.help == "score" and rows["threshold"].default == 0.5
    assert rows["dims"].spec.locked and not rows["size"].spec.locked


def test_options_class_must_be_a_defaulted_dataclass():
    @dataclass(frozen=True)
    class NoDefault:
        x: int

    assert check_options_class(Opts) is None
    assert "no default" in check_options_class(NoDefault)
    assert "dataclass" in check_options_class(dict)


def test_parse_overrides():
    assert parse_overrides(["detector.threshold=0.6", "masker.feather = 0.1"], ["detector", "masker"]) == {
        "detector": {"threshold": "0.6"}, "masker": {"feather": "0.1"}}
    with pytest.raises(OptionError, match="did you mean 'detector'"):
        parse_overrides(["detektor.threshold=1"], ["detector"])
    with pytest.raises(OptionError, match="KIND.KEY=VALUE"):
        parse_overrides(["threshold=1"], ["detector"])

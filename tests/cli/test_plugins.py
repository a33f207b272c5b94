"""``faceswap plugins`` and drop-in plugins through the real CLI."""
from pathlib import Path
from textwrap import dedent

from click.testing import CliRunner

from faceswap.cli.main import cli
from faceswap.faceset.store import FaceSet

ELLIPSE = dedent('''
    """An ellipse through the jaw and brows: a drop-in masker."""
    from dataclasses import dataclass
    import cv2
    import numpy as np
    from faceswap.plugin_api import API_VERSION, Masker, option

    class EllipseMasker(Masker):
        name = "ellipse"
        version = "2.1"
        api_version = API_VERSION

        @dataclass(frozen=True)
        class Options:
            grow: float = option(1.0, "scale of the fitted ellipse", min=0.5, max=2.0)

        def mask(self, faces, landmarks):
            out = np.zeros(faces.shape[:3], np.float32)
            for m, pts in zip(out, landmarks):
                (cx, cy), (w, h), angle = cv2.fitEllipse(pts[:27].astype(np.float32))
                g = self.options.grow
                cv2.ellipse(m, ((cx, cy), (w * g, h * g), angle), 1.0, -1)
            return out
''')


def run(workspace: Path, *args: str):
    return CliRunner().invoke(cli, ["--workspace", str(workspace), "--device", "cpu", *args])


def test_plugins_lists_builtins_with_status(workspace):
    result = run(workspace, "plugins")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "VERSION", "ORIGIN", "STATUS"]
    for kind, name in [("detector", "scrfd"), ("landmarker", "facemesh"), ("identity", "arcface")]:
        assert any(line.split()[:2] == [kind, name] and line.rstrip().endswith("ok") for line in lines)


def test_show_prints_the_option_table(workspace):
    result = run(workspace, "plugins", "show", "detector", "scrfd")
    assert result.exit_code == 0
    assert "detector.threshold  [float, default 0.5] (min 0.05; max 0.99)" in result.output
    assert "minimum detection score" in result.output
    missing = run(workspace, "plugins", "show", "detector", "nope")
    assert missing.exit_code == 1 and missing.output.startswith("error: unknown detector 'nope'")


def test_dropin_plugin_is_listed_and_used(workspace, talking_frames):
    (workspace / "plugins").mkdir(parents=True)
    (workspace / "plugins" / "ellipse.py").write_text(ELLIPSE)
    (workspace / "plugins" / "broken.py").write_text("raise RuntimeError('half-written plugin')\n")
    trusted = run(workspace, "plugins", "trust")
    assert trusted.exit_code == 0 and "ellipse.py" in trusted.output and "broken.py" in trusted.output
    listing = run(workspace, "plugins").output
    row = next(line for line in listing.splitlines() if line.startswith("masker") and "ellipse" in line)
    assert "2.1" in row and "ellipse.py" in row and row.rstrip().endswith("ok")
    assert "RuntimeError: half-written plugin" in listing
    result = run(workspace, "extract", str(talking_frames), "--every", "8", "--masker", "ellipse",
                 "--masker", "hull", "-O", "masker.grow=1.2")
    assert result.exit_code == 1 and "unknown option 'grow' for masker 'hull'" in result.output
    result = run(workspace, "extract", str(talking_frames), "--every", "8", "--masker", "ellipse",
                 "-O", "masker.grow=1.2")
    assert result.exit_code == 0, result.output
    records = [r for _, r in FaceSet(workspace / "facesets" / "aoc25").records()]
    assert len(records) == 4 and all(set(r.masks) == {"ellipse"} for r in records)
    producer = next(p for p in records[0].producers if p.kind == "masker")
    assert (producer.name, producer.version, producer.options) == ("ellipse", "2.1", {"grow": 1.2})
    assert records[0].mask()[128, 128] == 1.0


def test_toml_defaults_apply_and_cli_overrides_win(workspace, talking_frames):
    workspace.mkdir(parents=True)
    (workspace / "faceswap.toml").write_text("[detector.scrfd]\nthreshold = 0.6\ninput_size = 320\n")
    result = run(workspace, "extract", str(talking_frames), "--every", "12", "-O", "detector.threshold=0.7")
    assert result.exit_code == 0, result.output
    _, record = next(FaceSet(workspace / "facesets" / "aoc25").records())
    options = next(p.options for p in record.producers if p.kind == "detector")
    assert options["threshold"] == 0.7 and options["input_size"] == 320

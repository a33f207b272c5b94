"""Issue 14.8: drop-in plugin files run only once trusted, and a changed file needs trusting again."""
from __future__ import annotations

from textwrap import dedent

from cliruns import error_lines, run_cli

SPY = dedent('''
    """A drop-in that leaves a mark when its code runs."""
    from dataclasses import dataclass
    from pathlib import Path
    import numpy as np
    from faceswap.plugin_api import API_VERSION, Masker

    Path(__file__).with_name("ran.txt").write_text("imported")

    class Spy(Masker):
        name = "spy"
        version = "1.0"
        api_version = API_VERSION

        @dataclass(frozen=True)
        class Options:
            pass

        def mask(self, faces, landmarks):
            return np.ones(faces.shape[:3], np.float32)
''')


def test_untrusted_dropins_are_listed_but_never_run(workspace):
    plugins = workspace / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "spy.py").write_text(SPY)
    listing = run_cli(workspace, "plugins")
    assert listing.exit_code == 0, listing.output
    row = next(line for line in listing.output.splitlines() if "spy.py" in line)
    assert "not trusted" in row and "faceswap plugins trust" in row, row
    selected = run_cli(workspace, "plugins", "show", "masker", "spy")
    assert selected.exit_code == 1
    [line] = error_lines(selected.output)
    assert "spy.py" in line and "faceswap plugins trust" in line, line
    assert not (plugins / "ran.txt").exists(), "an untrusted drop-in was executed"


def test_trusted_dropin_loads_until_it_changes(workspace):
    plugins = workspace / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "spy.py").write_text(SPY)
    trusted = run_cli(workspace, "plugins", "trust")
    assert trusted.exit_code == 0 and "spy.py" in trusted.output, trusted.output
    assert not (plugins / "ran.txt").exists(), "trusting a file must not run it"
    listing = run_cli(workspace, "plugins")
    row = next(line for line in listing.output.splitlines() if line.startswith("masker") and "spy" in line)
    assert row.rstrip().endswith("ok"), row
    assert (plugins / "ran.txt").read_text() == "imported"
    (plugins / "ran.txt").unlink()
    (plugins / "spy.py").write_text(SPY + "\n# edited by someone else\n")
    listing = run_cli(workspace, "plugins")
    row = next(line for line in listing.output.splitlines() if "spy.py" in line)
    assert "changed since" in row, row
    assert not (plugins / "ran.txt").exists()

"""The registry on isolated drop-in folders (no entry points), plus the installed built-ins."""
from pathlib import Path
from textwrap import dedent

import pytest

from faceswap.errors import PluginError
from faceswap.plugin_api import API_VERSION, KINDS
from faceswap.plugin_trust import TrustStore
from faceswap.registry import Registry

GOOD = dedent('''
    from dataclasses import dataclass
    import numpy as np
    from faceswap.plugin_api import API_VERSION, Masker, option

    class Square(Masker):
        name = "square"
        version = "0.3"
        api_version = API_VERSION

        @dataclass(frozen=True)
        class Options:
            margin: float = option(0.1, "border left unmasked", min=0, max=0.4)

        def mask(self, faces, landmarks):
            n, s = faces.shape[:2]
            m = np.zeros((n, s, s), np.float32)
            k = int(s * self.options.margin)
            m[:, k:s - k, k:s - k] = 1
            return m
''')


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _discover(folder: Path) -> Registry:
    """An isolated registry of the drop-ins in ``folder``, all of them trusted as they are now."""
    store = TrustStore(folder.parent / f"{folder.name}-trust.json")
    store.trust(sorted(folder.glob("*.py")))
    return Registry.discover(folder, entry_points=False, trust=store)


def test_dropin_plugin_is_found_loaded_and_created(tmp_path, cpu):
    _write(tmp_path, "square.py", GOOD)
    registry = _discover(tmp_path)
    assert registry.names("masker") == ["square"]
    masker = registry.create("masker", "square", {"margin": "0.25"}, cpu)
    assert masker.options.margin == 0.25
    rows = registry.report()
    assert [(r.kind, r.name, r.version, r.status) for r in rows] == [("masker", "square", "0.3", "ok")]
    assert rows[0].origin.startswith("file ") and rows[0].origin.endswith("square.py")


def test_broken_file_is_reported_and_breaks_nothing_else(tmp_path, cpu):
    _write(tmp_path, "square.py", GOOD)
    _write(tmp_path, "broken.py", "import not_a_module_anywhere\n")
    registry = _discover(tmp_path)
    rows = {r.name: r for r in registry.report()}
    assert "ModuleNotFoundError" in rows["broken"].status and "broken.py" in rows["broken"].origin
    assert rows["square"].status == "ok"
    assert registry.create("masker", "square", {}, cpu) is not None


def test_api_version_mismatch_names_the_plugin(tmp_path):
    _write(tmp_path, "old.py", GOOD.replace("api_version = API_VERSION", "api_version = 99"))
    registry = _discover(tmp_path)
    with pytest.raises(PluginError, match=f"plugin 'square' targets plugin API 99; this faceswap supports {API_VERSION}"):
        registry.load("masker", "square")
    assert "targets plugin API 99" in registry.report()[0].status


def test_missing_method_and_bad_options_are_named(tmp_path):
    _write(tmp_path, "half.py", GOOD.replace("def mask(self", "def not_mask(self"))
    with pytest.raises(PluginError, match="masker 'square' .* does not implement mask"):
        _discover(tmp_path).load("masker", "square")
    _write(tmp_path, "half.py", GOOD.replace('margin: float = option(0.1, "border left unmasked", min=0, max=0.4)',
                                             "margin: float"))
    with pytest.raises(PluginError, match="option 'margin' has no default"):
        _discover(tmp_path).load("masker", "square")


def test_same_name_from_two_origins_names_both(tmp_path):
    _write(tmp_path, "a.py", GOOD)
    _write(tmp_path, "b.py", GOOD)
    registry = _discover(tmp_path)
    with pytest.raises(PluginError, match=r"defined twice, by file .*a\.py and file .*b\.py"):
        registry.load("masker", "square")


def test_unknown_plugin_suggests_close_names(registry):
    with pytest.raises(PluginError, match=r"unknown detector 'scrdf' \(did you mean 'scrfd'\?\)"):
        registry.load("detector", "scrdf")
    with pytest.raises(PluginError, match="unknown plugin kind"):
        registry.load("detektor", "scrfd")


def test_every_installed_builtin_loads(registry):
    rows = registry.report()
    builtins = {(r.kind, r.name) for r in rows if r.origin == "built-in"}
    assert {("detector", "scrfd"), ("detector", "blazeface"), ("landmarker", "2d106"),
            ("landmarker", "facemesh"), ("masker", "hull"), ("masker", "extended"),
            ("identity", "arcface")} <= builtins
    assert all(r.status == "ok" for r in rows), [r for r in rows if r.status != "ok"]
    assert {r.kind for r in rows} <= set(KINDS)


def test_dropins_run_only_when_trusted_as_they_are(tmp_path):
    marker = tmp_path / "ran.txt"
    path = _write(tmp_path / "plugins", "square.py", GOOD + f"\nopen({str(marker)!r}, 'w').write('ran')\n")
    untrusted = Registry.discover(tmp_path / "plugins", entry_points=False)
    assert untrusted.names("masker") == [] and not marker.exists()
    [row] = untrusted.report()
    assert row.status.startswith("not trusted") and "faceswap plugins trust square.py" in row.status
    with pytest.raises(PluginError, match=r"not trusted: square\.py \(run 'faceswap plugins trust'"):
        untrusted.load("masker", "square")
    store = TrustStore(tmp_path / "trust.json")
    store.trust([path])
    assert Registry.discover(tmp_path / "plugins", entry_points=False, trust=store).names("masker") == ["square"]
    assert marker.read_text() == "ran"
    marker.unlink()
    path.write_text(path.read_text() + "# edited\n")
    changed = Registry.discover(tmp_path / "plugins", entry_points=False, trust=store)
    assert changed.report()[0].status.startswith("changed since it was trusted") and not marker.exists()

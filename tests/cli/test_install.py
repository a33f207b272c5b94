"""A plain (non-editable) ``pip install .`` finds every built-in plugin through its entry points."""
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _package_dirs() -> list[str]:
    """The folders this interpreter imports packages from, in order, less the standard library."""
    stdlib = {Path(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
    return [entry for entry in dict.fromkeys(sys.path)
            if entry and Path(entry).is_dir() and Path(entry) not in stdlib and Path(entry).name != "lib-dynload"]


@pytest.mark.slow
def test_pip_install_dot_registers_builtin_plugins(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # The new venv sees this environment's packages (dependencies, and setuptools>=70.1 from the test
    # extra, which the offline build below needs) through a .pth file, not the base interpreter's,
    # which in a fresh virtualenv has neither; only faceswap itself is installed into it.
    [own_site] = [p for p in (env_dir / "lib").glob("python3*/site-packages")]
    (own_site / "outer_env.pth").write_text("\n".join(_package_dirs()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--no-build-isolation", "--quiet", str(REPO)], check=True, cwd=tmp_path)
    probe = ("import faceswap, faceswap_plugins; from faceswap.registry import Registry; "
             "from faceswap.weights import locate; from faceswap_plugins.mask.segment import GENERIC, GENERIC_JSON; "
             "rows = Registry.discover().report(); "
             "print(faceswap.__file__); print(faceswap_plugins.__file__); print(locate(GENERIC_JSON).parent); "
             "print(locate(GENERIC).parent); [print(r.kind, r.name, r.origin, r.status) for r in rows]")
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    lines = out.splitlines()
    assert str(env_dir) in lines[0] and str(env_dir) in lines[1], "imported from the installed copy"
    assert str(env_dir) in lines[2] and str(env_dir) in lines[3], "the segment masker's weights are package data"
    rows = [line.split() for line in lines[4:]]
    assert {(r[0], r[1]) for r in rows} >= {("detector", "scrfd"), ("detector", "blazeface"),
                                           ("landmarker", "2d106"), ("landmarker", "facemesh"),
                                           ("masker", "hull"), ("masker", "extended"), ("masker", "segment"),
                                           ("identity", "arcface")}
    assert all(r[2] == "built-in" and r[3] == "ok" for r in rows), out

"""A plain (non-editable) ``pip install .`` finds every built-in plugin through its entry points."""
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_pip_install_dot_registers_builtin_plugins(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # the venv reuses this interpreter's dependencies; only faceswap itself is installed into it
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--no-build-isolation", "--quiet", str(REPO)], check=True, cwd=tmp_path)
    probe = ("import faceswap, faceswap_plugins; from faceswap.registry import Registry; "
             "rows = Registry.discover().report(); "
             "print(faceswap.__file__); print(faceswap_plugins.__file__); "
             "[print(r.kind, r.name, r.origin, r.status) for r in rows]")
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    lines = out.splitlines()
    assert str(env_dir) in lines[0] and str(env_dir) in lines[1], "imported from the installed copy"
    rows = [line.split() for line in lines[2:]]
    assert {(r[0], r[1]) for r in rows} >= {("detector", "scrfd"), ("detector", "blazeface"),
                                           ("landmarker", "2d106"), ("landmarker", "facemesh"),
                                           ("masker", "hull"), ("masker", "extended"), ("identity", "arcface")}
    assert all(r[2] == "built-in" and r[3] == "ok" for r in rows), out

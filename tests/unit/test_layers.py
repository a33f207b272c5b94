"""The layering the architecture promises: core never imports plugins, pipeline stages never
import the commands or the score that sit on top of them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "faceswap"
STAGES = ("align", "extract", "faceset", "media", "merge", "train", "latent", "runtime")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_imports_no_plugin():
    offenders = {str(p.relative_to(CORE)): m for p in CORE.rglob("*.py") for m in imports(p)
                 if m.split(".")[0] == "faceswap_plugins"}
    assert not offenders


@pytest.mark.parametrize("stage", STAGES)
def test_pipeline_stages_do_not_import_what_sits_on_top(stage):
    for path in (CORE / stage).rglob("*.py"):
        above = [m for m in imports(path) if m.startswith(("faceswap.cli", "faceswap.score"))]
        assert not above, f"{path} imports {above}"


def test_threads_option_caps_torch(tmp_path):
    import torch
    from click.testing import CliRunner

    from faceswap.cli.main import cli

    before = torch.get_num_threads()
    try:
        result = CliRunner().invoke(cli, ["--workspace", str(tmp_path), "--threads", "1", "plugins"])
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)

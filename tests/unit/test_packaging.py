"""setup.cfg lists packages one by one: every package folder of faceswap/ must be among them."""
import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed_in_setup_cfg():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    folders = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "faceswap").rglob("__init__.py")}
    assert folders <= listed, f"missing from setup.cfg [options] packages: {sorted(folders - listed)}"

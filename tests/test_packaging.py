"""The distributions: what `pip install .`, `pipx install .` and `python -m build` produce from a
clone holds everything the server needs, the Neovim plugin included, and nothing stray.

The build is the real one (setuptools' PEP 517 hooks: sdist from a copy of the checkout, wheel
from the sdist); see packaging_helpers.py. Nothing is installed into this environment.
"""

from __future__ import annotations

import email
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging_helpers import REPO, Dists, installed_editor_path, unpack_wheel

from o1coder.editors import EditorNotFound, editor_path

pytestmark = pytest.mark.slow

NVIM = REPO / "editor-clients" / "nvim"


def sources(root: Path) -> set[str]:
    """The package files of a source tree, relative to its import root (server/, training/)."""
    return {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "__pycache__" not in path.parts and not any(p.endswith(".egg-info") for p in path.parts)
    }


def plugin_files() -> set[str]:
    return {
        str(path.relative_to(NVIM))
        for path in NVIM.rglob("*")
        if path.is_file() and (path.suffix == ".lua" or path.name == "README.md")
    }


def test_the_wheel_holds_every_module_the_plugin_and_the_commands(built_dists: Dists) -> None:
    with zipfile.ZipFile(built_dists.wheel) as wheel:
        names = set(wheel.namelist())
        [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        [entry_points_name] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        metadata = email.message_from_bytes(wheel.read(metadata_name))
        entry_points = wheel.read(entry_points_name).decode()
    missing = (sources(REPO / "server") | sources(REPO / "training")) - names
    assert not missing, f"modules missing from the wheel: {sorted(missing)}"
    # the sandbox's child side runs as files next to the runner: they must be there
    assert "o1coder/sandbox/child/boot.py" in names
    shipped = {n.removeprefix("o1coder/editors/nvim/") for n in names if n.startswith("o1coder/editors/nvim/")}
    assert shipped == plugin_files()
    # nothing but the two packages and the metadata at the top of site-packages
    tops = {name.split("/")[0] for name in names}
    assert tops == {"o1coder", "o1coder_train", metadata_name.split("/")[0]}, tops
    assert "o1coder = o1coder.cli:main" in entry_points and "o1coder-train = o1coder_train.cli:main" in entry_points
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    for dependency in map(Requirement, project["dependencies"]):
        assert dependency in requires, (dependency, requires)
    assert metadata["Version"] == __import__("o1coder").__version__


def test_the_sdist_builds_the_same_wheel_and_carries_the_plugin(built_dists: Dists) -> None:
    with tarfile.open(built_dists.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "setup.py", "MANIFEST.in", "README.md"} <= names
    assert {f"editor-clients/nvim/{f}" for f in plugin_files()} <= names
    assert {f"server/{f}" for f in sources(REPO / "server")} <= names
    assert "training/configs/tiny-cpu.toml" in names
    assert not any(name.startswith(("editor-clients/vscode", "benchmarks/")) for name in names)


def test_editor_path_from_the_unpacked_wheel(built_dists: Dists, tmp_path: Path) -> None:
    """`o1coder editor-path nvim` of an installed wheel names the plugin inside that installation."""
    site = unpack_wheel(built_dists.wheel, tmp_path / "site")
    proc = installed_editor_path(site, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == site / "o1coder" / "editors" / "nvim"


def test_editor_path_in_a_checkout_is_the_repository_folder() -> None:
    assert editor_path("nvim") == NVIM
    with pytest.raises(EditorNotFound, match="ships nvim"):
        editor_path("emacs")

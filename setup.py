"""Build hook: the Neovim plugin ships inside the package (everything else is in pyproject.toml).

`editor-clients/nvim` is copied to `o1coder/editors/nvim` in the build, so a wheel (and so a
`pip install .` or `pipx install .`) carries it; `o1coder editor-path nvim` prints where it
landed. An editable install copies nothing: o1coder.editors finds the checkout's folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
NVIM = HERE / "editor-clients" / "nvim"
NVIM_PARTS = ("lua", "plugin", "lsp", "README.md")  # what Neovim loads, and its documentation
TARGET = Path("o1coder", "editors", "nvim")


def nvim_files() -> list[Path]:
    """The plugin's files, relative to editor-clients/nvim."""
    files: list[Path] = []
    for part in NVIM_PARTS:
        path = NVIM / part
        if path.is_file():
            files.append(Path(part))
        elif path.is_dir():
            files.extend(sorted(p.relative_to(NVIM) for p in path.rglob("*") if p.is_file()))
    if not any(f.suffix == ".lua" for f in files):
        raise SystemExit(f"setup.py: no Neovim plugin in {NVIM} (is the sdist missing editor-clients/nvim?)")
    return files


class BuildPyWithEditors(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for relative in nvim_files():
            target = Path(self.build_lib) / TARGET / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(NVIM / relative, target)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return [*outputs, *(str(Path(self.build_lib) / TARGET / f) for f in nvim_files())]


setup(cmdclass={"build_py": BuildPyWithEditors})

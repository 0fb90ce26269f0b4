"""The user's project as the sandbox shows it: read-only, importable, its tests hidden.

A candidate for a stub in a real module runs as that module, so the module's own imports of
its package (`from mypackage.util import x`, `import sibling`) must resolve. The project
(the folder holding the module, up to the root marked by pyproject.toml, setup.cfg, setup.py
or .git) is mounted read-only in the children's file view, and the folder its top package
lives in goes first on `sys.path`. Tests files in it (test_*.py, *_test.py, conftest.py and
tests/ folders) are hidden: the candidate must not read expected values from them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
TEST_DIRS = ("tests", "test")
MAX_HIDDEN = 256  # tests files and folders hidden one by one; more hide the whole project
MAX_SCAN_DEPTH = 6
SKIPPED_DIRS = (".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", "build", "dist")


@dataclass(frozen=True)
class Workspace:
    root: Path  # mounted read-only
    import_paths: tuple[Path, ...]  # first on the candidate's sys.path
    hidden: tuple[Path, ...]  # tests files and folders inside `root`, shown empty
    module_name: str = ""  # the module's dotted name ("pkg.core"): relative imports resolve from it
    is_package: bool = False  # the module is a package's __init__.py

    @classmethod
    def for_module(cls, module: Path, root: Path | None = None) -> Workspace:
        module = module.resolve()
        root = (root or project_root(module)).resolve()
        if root not in module.parents:
            root = module.parent
        paths = import_paths(module)
        return cls(root, paths, tests_inside(root), dotted_name(module, paths[0]), module.name == "__init__.py")

    def payload(self) -> dict:
        return {
            "root": str(self.root),
            "paths": [str(p) for p in self.import_paths],
            "hidden": [str(p) for p in self.hidden],
            "module": self.module_name,
            "is_package": self.is_package,
        }


def project_root(module: Path) -> Path:
    """The nearest folder above `module` holding a project marker, else the module's folder."""
    for folder in module.parents:
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    return module.parent


def import_paths(module: Path) -> tuple[Path, ...]:
    """Where imports of `module`'s package resolve: above its top package, and its own folder."""
    top = module.parent
    while (top / "__init__.py").exists() and top.parent != top:
        top = top.parent
    paths = [top]
    if module.parent != top:
        paths.append(module.parent)
    return tuple(paths)


def dotted_name(module: Path, top: Path) -> str:
    """`pkg/sub/mod.py` under `top` -> "pkg.sub.mod" (a package's __init__ is the package)."""
    try:
        parts = list(module.with_suffix("").relative_to(top).parts)
    except ValueError:
        return module.stem
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or module.stem


def tests_inside(root: Path) -> tuple[Path, ...]:
    """Tests files and folders under `root` (not descending into hidden or build folders)."""
    found: list[Path] = []
    base_depth = len(root.parts)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if len(here.parts) - base_depth >= MAX_SCAN_DEPTH:
            dirs[:] = []
        kept = []
        for name in sorted(dirs):
            if name in TEST_DIRS:
                found.append(here / name)
            elif not name.startswith(".") and name not in SKIPPED_DIRS:
                kept.append(name)
        dirs[:] = kept
        found += [
            here / f
            for f in sorted(files)
            if f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py") or f == "conftest.py")
        ]
        if len(found) > MAX_HIDDEN:
            return (root,)  # too many to hide one by one: hide the project (imports of it fail)
    return tuple(found)

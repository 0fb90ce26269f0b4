"""Which installed Python files `data build` mines: `[data].doctest_modules` expanded to files.

Names are modules or packages (`statistics`, `networkx.algorithms`), one of two sets,
`stdlib` (every pure-Python module of the standard library) and `site-packages` (every
package installed beside the running interpreter), or paths of .py files and folders.
Nothing is imported: files are found on disk and read as source. Test suites, GUIs,
scripts and the like are left out.
"""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

STDLIB = "stdlib"
SITE_PACKAGES = "site-packages"
# Never mined: test suites, GUIs and demos, installers, and modules whose top level does things.
SKIPPED = frozenset(
    {
        "antigravity", "this", "tkinter", "idlelib", "turtle", "turtledemo", "test", "lib2to3",
        "pydoc_data", "ensurepip", "venv", "msilib", "webbrowser", "__phello__", "_distutils_hack",
        "o1coder", "o1coder_train",
    }
)  # fmt: skip
# Not mined either: modules whose functions answer about this machine (its files, processes,
# users, locale, installed packages); values their references give here would not hold on
# the machine that trains.
MACHINE = frozenset(
    {
        "compileall", "sysconfig", "site", "platform", "getpass", "pwd", "grp", "socket", "ssl",
        "subprocess", "shutil", "tempfile", "glob", "pkgutil", "locale", "mimetypes", "netrc",
        "mailcap", "uuid", "multiprocessing", "concurrent", "asyncio", "signal", "threading",
        "psutil", "platformdirs", "pip._vendor.platformdirs", "setuptools.command",
    }
)  # fmt: skip
SKIPPED_PARTS = frozenset({"tests", "test", "testing", "__main__", "setup", "conftest"})
MAX_FILE_BYTES = 400_000


@dataclass(frozen=True)
class ModuleFile:
    name: str  # dotted module name ("pkg.sub.mod"; a package's __init__ is the package)
    path: Path
    stdlib: bool
    is_package: bool = False

    @property
    def package(self) -> str:
        return self.name.partition(".")[0]


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def site_packages_dir() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def is_stdlib(module: str) -> bool:
    return module.partition(".")[0] in sys.stdlib_module_names


def module_files(names: Sequence[str], exclude: Sequence[str] = ()) -> list[ModuleFile]:
    """The files of the named modules, packages and sets, each once, in a stable order."""
    skipped = SKIPPED | MACHINE | set(exclude)
    seen: dict[str, ModuleFile] = {}
    for name in names:
        for found in _expand(name):
            if _skipped(found.name, skipped) or found.name in seen:
                continue
            try:
                if found.path.stat().st_size > MAX_FILE_BYTES:
                    continue
            except OSError:
                continue
            seen[found.name] = found
    return list(seen.values())


def _skipped(name: str, skipped: set[str] | frozenset[str]) -> bool:
    parts = name.split(".")
    if any(name == s or name.startswith(s + ".") for s in skipped):
        return True
    return any(p in SKIPPED_PARTS or p.startswith("test_") or p.endswith("_test") for p in parts)


def _expand(name: str) -> Iterator[ModuleFile]:
    if "/" in name or name.endswith(".py"):
        yield from _from_path(Path(name).expanduser())
        return
    if name == STDLIB:
        for top in sorted(sys.stdlib_module_names):
            yield from _expand(top)
        return
    if name == SITE_PACKAGES:
        root = site_packages_dir()
        for entry in sorted(root.iterdir()):
            if entry.name.startswith(("_", ".")) or "-" in entry.name or not entry.name.isascii():
                continue
            if entry.is_dir() and (entry / "__init__.py").exists():
                yield from _walk(entry.name, entry, stdlib=False)
            elif entry.suffix == ".py" and entry.stem.isidentifier():
                yield ModuleFile(entry.stem, entry, stdlib=False)
        return
    top = name.partition(".")[0]
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: found without importing anything
    except (ImportError, ValueError):
        return
    if spec is None or spec.origin in (None, "built-in", "frozen"):
        return
    origin = Path(spec.origin)
    stdlib = is_stdlib(top) and stdlib_dir() in origin.parents
    if spec.submodule_search_locations:
        modules = _walk(top, origin.parent, stdlib)
        yield from (m for m in modules if m.name == name or m.name.startswith(name + "."))
    elif origin.suffix == ".py" and name == top:
        yield ModuleFile(top, origin, stdlib)


def _from_path(path: Path) -> Iterator[ModuleFile]:
    """A .py file (a module named by its stem), a package folder, or a folder of modules."""
    if path.is_file() and path.suffix == ".py" and path.stem.isidentifier():
        yield ModuleFile(path.stem, path, stdlib=False)
    elif path.is_dir() and (path / "__init__.py").exists() and path.name.isidentifier():
        yield from _walk(path.name, path, stdlib=False)
    elif path.is_dir():
        for entry in sorted(path.iterdir()):
            if entry.suffix == ".py" or (entry / "__init__.py").exists():
                yield from _from_path(entry)


def _walk(package: str, folder: Path, stdlib: bool) -> Iterator[ModuleFile]:
    """A package's modules written in Python (sub-packages included), in sorted order."""
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        if not all(p.isidentifier() for p in parts):
            continue
        if any(not (folder.joinpath(*parts[:i]) / "__init__.py").exists() for i in range(1, len(parts))):
            continue  # a folder without __init__.py inside the package: not importable as a module
        is_package = parts[-1] == "__init__"
        dotted = ".".join([package, *(parts[:-1] if is_package else parts)])
        yield ModuleFile(dotted, path, stdlib, is_package)

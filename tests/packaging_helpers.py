"""Building the sdist and the wheel of this checkout, as `python -m build --no-isolation` does.

`build` itself is not a test dependency: its two steps are setuptools' PEP 517 hooks, called
here in a subprocess each (build_sdist in a copy of the checkout, then build_wheel in the
unpacked sdist, the way `python -m build` and pip build a wheel). Nothing is installed; the
wheel is pure Python, so unzipping it is what pip's install does with it.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What a clone holds that the build reads (tests, benchmarks and the VS Code extension are not in it).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "server", "training", "editor-clients/nvim")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
MIN_SETUPTOOLS = 77  # pyproject.toml's build-system requirement (an SPDX `license` string)


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path


def _hook(hook: str, source: Path, out: Path) -> Path:
    code = f"import sys; from setuptools import build_meta; print(build_meta.{hook}(sys.argv[1]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=source, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{hook} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return out / proc.stdout.strip().splitlines()[-1]


def build_dists(work: Path) -> Dists:
    version = importlib.metadata.version("setuptools")
    if int(version.split(".")[0]) < MIN_SETUPTOOLS:
        pytest.skip(f"building needs setuptools>={MIN_SETUPTOOLS} (this environment has {version})")
    source = work / "clone"
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=IGNORED)
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    out = work / "dist"
    out.mkdir()
    sdist = _hook("build_sdist", source, out)
    unpacked = work / "unpacked"
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    [root] = unpacked.iterdir()
    wheel = _hook("build_wheel", root, out)
    return Dists(sdist=sdist, wheel=wheel)


def unpack_wheel(wheel: Path, site: Path) -> Path:
    """What pip's install of a pure-Python wheel puts in site-packages (without the scripts)."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def installed_editor_path(site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m o1coder editor-path nvim` run with only `site` (an unpacked wheel) importable."""
    return subprocess.run(
        [sys.executable, "-m", "o1coder", "editor-path", "nvim"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=120,
    )

"""Fixtures of the editor-client tests: how to start the real `o1coder serve`."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv the tests run in: o1coder, nvim


@dataclass(frozen=True)
class Server:
    """The server's command line and the environment it needs."""

    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def o1coder_server() -> Server:
    """`o1coder serve` from this environment; `python -m o1coder serve` from the checkout when the
    console script is not installed (the package not pip-installed yet)."""
    script = shutil.which("o1coder", path=str(BIN))
    if script:
        return Server([script, "serve"])
    pythonpath = os.pathsep.join(p for p in (str(REPO / "server"), os.environ.get("PYTHONPATH", "")) if p)
    return Server([sys.executable, "-m", "o1coder", "serve"], {"PYTHONPATH": pythonpath})

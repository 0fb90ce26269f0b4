"""Fixtures for the model store tests (FAKE models: see model_fakes)."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from model_fakes import CliResult, FakeModel, make_fake_model

from o1coder.commands import models as models_command
from o1coder.models import files
from o1coder.models.catalog import CATALOG
from o1coder.models.registry import ENV_DATA_DIR


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty O1CODER_DATA_DIR for this test."""
    directory = tmp_path / "o1coder-data"
    monkeypatch.setenv(ENV_DATA_DIR, str(directory))
    return directory


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream in 16 KiB blocks so the small fakes span many blocks."""
    monkeypatch.setattr(files, "BLOCK_SIZE", 16 * 1024)


@pytest.fixture
def fake_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path, small_blocks: None
) -> FakeModel:
    """The FAKE catalog model `fake-tiny` (3 chunk packages importable from tmp_path), in CATALOG."""
    root = tmp_path / "site"
    root.mkdir()
    fake = make_fake_model(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setitem(CATALOG, fake.model.name, fake.model)
    return fake


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `o1coder models ...` through the command's own add_parser/run, capturing output."""

    def invoke(*argv: str) -> CliResult:
        parser = argparse.ArgumentParser(prog="o1coder")
        models_command.add_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["models", *argv])
        capsys.readouterr()
        code = args.func(args)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def throwaway_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh virtual environment for what pip installs in this test; the running one is never touched.

    The installer runs pip as `sys.executable -m pip`, so `sys.executable` is this environment's
    interpreter for the test, and its site-packages leads sys.path, where the import system
    finds what pip put there. It has no pip of its own: a .pth file lends it the running
    environment's pip, which installs into (and uninstalls from) the environment it runs in.
    """
    venv = tmp_path / "throwaway-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([python, "-c", purelib], check=True, capture_output=True, text=True).stdout.strip())
    pip_spec = importlib.util.find_spec("pip")
    assert pip_spec is not None and pip_spec.origin is not None, "the tests need pip"
    (site / "lend-pip.pth").write_text(str(Path(pip_spec.origin).parents[1]) + "\n")
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.syspath_prepend(str(site))
    return python

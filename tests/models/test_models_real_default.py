"""The real default model in the real store (assembled by `o1coder models install qwen2.5-coder-0.5b`).

Hashes the 491 MB file once per test session; everything else uses the quick sidecar path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import o1coder
from o1coder.config import DEFAULT_MODEL
from o1coder.models.catalog import CATALOG
from o1coder.models.files import Check, check_file, read_magic
from o1coder.models.registry import ENV_DATA_DIR
from o1coder.models.resolve import resolve

pytestmark = pytest.mark.model


@pytest.fixture(scope="session")
def default_model_check(default_model_path: Path) -> Check:
    """One full hash of the installed default model, shared by this session."""
    model = CATALOG[DEFAULT_MODEL]
    return check_file(default_model_path, model.size, model.sha256, quick=False)


def test_default_model_hashes_to_the_catalog_sha256(default_model_check: Check) -> None:
    assert default_model_check.status == "verified", default_model_check.detail
    assert default_model_check.size == 491_400_064
    assert not default_model_check.cached


def test_default_model_resolves_quickly(default_model_check: Check) -> None:
    path = resolve(DEFAULT_MODEL)
    assert path == default_model_check.path
    assert read_magic(path) == b"GGUF"
    check = check_file(path, default_model_check.expected_size, default_model_check.expected_sha256)
    assert check.ok and check.cached  # the sidecar written by the full hash vouches for it


def test_default_chunks_concatenate_to_the_installed_file(default_model_check: Check) -> None:
    """The chunk packages (when still installed) are the installed file's bytes, in order: spot-check
    each chunk's first and last 64 KiB at its offset instead of re-assembling 491 MB."""
    chunks = CATALOG[DEFAULT_MODEL].chunk_files()
    if any(chunk is None for chunk in chunks):
        pytest.skip("chunk packages were removed (--remove-chunks)")
    offset = 0
    with open(default_model_check.path, "rb") as model:
        for chunk in chunks:
            assert isinstance(chunk, Path)
            size = chunk.stat().st_size
            with open(chunk, "rb") as part:
                for start in (0, max(0, size - 65536)):
                    part.seek(start)
                    model.seek(offset + start)
                    assert part.read(65536) == model.read(65536), (
                        f"{chunk} differs at offset {offset + start}"
                    )
            offset += size
    assert offset == CATALOG[DEFAULT_MODEL].size


def _o1coder(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    server_dir = str(Path(o1coder.__file__).resolve().parents[1])
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [server_dir, full_env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "o1coder.cli", *argv],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_cli_models_commands_end_to_end(default_model_check: Check, tmp_path: Path) -> None:
    path = _o1coder("models", "path", DEFAULT_MODEL)
    assert path.returncode == 0, path.stderr
    assert path.stdout == f"{default_model_check.path}\n"
    quick = _o1coder("models", "verify", DEFAULT_MODEL, "--quick")
    assert quick.returncode == 0 and "verified (sidecar, unchanged)" in quick.stdout
    unknown = _o1coder("models", "install", "qwen9")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown model 'qwen9'")
    empty = _o1coder("models", "list", "--json", env={ENV_DATA_DIR: str(tmp_path)})
    rows = {row["name"]: row for row in json.loads(empty.stdout)}
    assert rows[DEFAULT_MODEL]["status"] == "missing"
    assert rows[DEFAULT_MODEL]["path"] == str(tmp_path.resolve() / "models" / CATALOG[DEFAULT_MODEL].filename)

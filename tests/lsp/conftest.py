"""Fixtures of the end-to-end tests: a real server process per test (see lsp_harness.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import pytest_lsp
from lsp_harness import CONFIG, EditorClient, initialize_params


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers started by these tests write their search-tree pages under a temporary cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: EditorClient, tmp_path: Path):
    started = time.perf_counter()
    lsp_client.initialize_result = await lsp_client.initialize_session(initialize_params(tmp_path))
    lsp_client.initialize_seconds = time.perf_counter() - started
    yield
    await lsp_client.shutdown_session()

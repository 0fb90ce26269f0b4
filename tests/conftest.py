"""Shared fixtures: the real default GGUF model (assembled by `o1coder models install`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from o1coder.config import DEFAULT_MODEL


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    from o1coder.models import store

    try:
        return store.resolve(DEFAULT_MODEL)
    except store.ModelError as exc:  # the test command installs it first (make model)
        pytest.fail(f"the default model is needed: {exc}")

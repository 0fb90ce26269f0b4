"""Shared fixtures: the real default GGUF model (assembled by `o1coder models install`).

Every test that needs that model carries the `model` marker, so `pytest -m "not model"`
(`make unit`) runs none of them. A test that reaches the model through `default_model_path`
(directly or through a fixture built on it) is marked here even where its file forgot to.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging_helpers import Dists

from o1coder.config import DEFAULT_MODEL

MODEL_FIXTURE = "default_model_path"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURE in getattr(item, "fixturenames", ()) and item.get_closest_marker("model") is None:
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    from o1coder.models.errors import ModelError
    from o1coder.models.resolve import resolve

    try:
        return resolve(DEFAULT_MODEL)
    except ModelError as exc:  # `make test` installs it first; `make unit` runs no model test
        pytest.skip(
            f"the default model is not installed ({exc}); install it with "
            f"`o1coder models install {DEFAULT_MODEL}` or `make model`"
        )


# ---------------------------------------------------------------- the distributions `python -m build` makes


@pytest.fixture(scope="session")
def built_dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """The sdist built from a copy of this checkout, and the wheel built from that sdist, as
    `python -m build --no-isolation` makes them (the PEP 517 hooks of setuptools, here)."""
    from packaging_helpers import build_dists

    return build_dists(tmp_path_factory.mktemp("dists"))

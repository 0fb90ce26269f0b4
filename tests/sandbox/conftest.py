"""Fixtures of the sandbox tests (helpers live in sandbox_helpers.py)."""

from __future__ import annotations

import sys
import uuid

import pytest

from o1coder.sandbox import isolation_summary


@pytest.fixture(scope="session")
def isolation() -> str:
    """What this machine's sandbox applies (single-layer tests skip what it cannot)."""
    return isolation_summary()


@pytest.fixture
def marked_python(tmp_path, monkeypatch) -> str:
    """A uniquely named link to this interpreter, used for the sandbox children of this test.

    Their command lines (and those of anything they fork) carry the name, so a test can find
    what it started even while other sandboxes run on the machine.
    """
    link = tmp_path / f"python-o1sandbox-{uuid.uuid4().hex[:12]}"
    link.symlink_to(sys.executable)
    monkeypatch.setattr(sys, "executable", str(link))
    return str(link)

"""What a work command's compute sees (Snapshot) and gives back (Outcome, or WorkError)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types

from o1coder.lsp.targets import FunctionTarget, Target
from o1coder.sandbox.workspace import Workspace


@dataclass(frozen=True)
class Snapshot:
    """The request's view of the world, taken on the event loop."""

    uri: str
    version: int | None  # None: the document is not open in the editor (read from disk)
    text: str
    target: Target
    keep_pseudocode: bool
    path: Path | None
    root: Path | None  # the workspace folder holding `path`, else its directory
    tests_doc: tuple[str, int | None, str] | None = None  # the open tests file: (uri, version, text)
    can_create_files: bool = True

    def workspace(self, problem: Any) -> Workspace | None:
        """The user's project around a stub in a file on disk (the module's own imports resolve in it)."""
        if self.path is None or getattr(problem, "module", None) is None:
            return None
        return Workspace.for_module(self.path, self.root)


@dataclass
class Outcome:
    """What a worker computed: the edit and what to tell the user."""

    changes: list[types.TextDocumentEdit | types.CreateFile]
    summary: str
    extra: dict[str, Any] = field(default_factory=dict)
    guards: list[tuple[str, int | None]] = field(default_factory=list)  # (uri, version) that must still hold
    diagnostics: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    write_file: tuple[Path, str] | None = None  # for clients that cannot create files


class WorkError(Exception):
    """A work request cannot go on; the message is for the user."""


def what(target: Target) -> str:
    """`name()` of a function target, "the task" of a task target (for messages)."""
    return f"{target.qualname}()" if isinstance(target, FunctionTarget) else "the task"


def qualname(target: Target) -> str | None:
    return target.qualname if isinstance(target, FunctionTarget) else None

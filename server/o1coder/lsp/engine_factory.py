"""Where the language server's engine comes from.

The server builds its engine on first use with an `EngineFactory` (settings -> engine);
`default_engine` builds the real one. `WorkEngine` is what the server calls on it. Tests of the
work path start the server with the hidden option `--engine-factory MODULE:ATTR` (see
`load`), which names a scripted stand-in, so they run the real server without a model.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from o1coder.config import Settings

if TYPE_CHECKING:
    from o1coder.engine.problem import Problem
    from o1coder.engine.types import Budget, CancelToken, ProgressCallback, SolveResult
    from o1coder.models.pool import ModelPool
    from o1coder.sandbox import Workspace
    from o1coder.sandbox.types import TestCase, VerificationReport


class WorkEngine(Protocol):
    """The engine as the language server uses it (o1coder.engine.engine.Engine is one)."""

    pool: ModelPool

    def update_settings(self, settings: Settings) -> None: ...

    def with_settings(self, settings: Settings) -> WorkEngine: ...

    def plan(self, problem: Problem, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> str: ...

    def refine(
        self, problem: Problem, plan: str, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> str: ...

    def solve(
        self,
        problem: Problem,
        *,
        strategy: str | None = None,
        budget: Budget | None = None,
        tests: list[TestCase] | None = None,
        user_tests: list[TestCase] | None = None,
        workspace: Workspace | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> SolveResult: ...

    def generate_tests(
        self, problem: Problem, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> list[TestCase]: ...

    def verifier(
        self, program: str, tests: Sequence[TestCase], workspace: Workspace | None = None
    ) -> VerificationReport: ...

    def program_for(self, problem: Problem, code: str) -> str: ...


EngineFactory = Callable[[Settings], WorkEngine]


def default_engine(settings: Settings) -> WorkEngine:
    """The real engine (imported here: the engine is not imported before the first model work)."""
    from o1coder.engine.engine import Engine

    return Engine(settings)


def load(spec: str) -> EngineFactory:
    """The factory named `MODULE:ATTR` (the module importable from the server's sys.path)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--engine-factory wants MODULE:ATTR, got {spec!r}")
    factory: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        factory = getattr(factory, part)
    if not callable(factory):
        raise ValueError(f"--engine-factory {spec}: {attr} is not callable")
    return factory

"""FAKE engine for end-to-end tests of the language server's work path: nothing here is a model.

The real server loads it with its hidden test option `--engine-factory fake_engine:FakeEngine`
(lsp_harness.fake_engine_server starts it so, with this directory on PYTHONPATH). Each call
reads its script, a JSON file named by the environment variable in `SCRIPT_ENV`, so a test can
change the script while the server runs:

- "plan": what plan and refine return;
- "code", "pseudocode": what solve returns;
- "tests": [[name, source], ...], what generate_tests returns; "failing": the names of those
  the verifier fails (the rest pass);
- "hold": a file path: every call first reports progress ("fake engine: holding") and then
  waits, polling its CancelToken as the engine does, until that file exists.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from o1coder.config import Settings
from o1coder.engine.problem import Problem
from o1coder.engine.types import (
    Budget,
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    SearchStats,
    SolveResult,
)
from o1coder.models.pool import ModelPool
from o1coder.sandbox import Workspace
from o1coder.sandbox.types import TestCase, TestOutcome, TestStatus, VerificationReport

SCRIPT_ENV = "O1CODER_FAKE_ENGINE_SCRIPT"
HOLDING = "fake engine: holding"


def write_script(path: Path, **script: Any) -> None:
    """Replace the script at `path` in one step (the server may be reading it)."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(script))
    os.replace(partial, path)


class FakeEngine:
    """FAKE engine: scripted answers (see the module docstring), the WorkEngine protocol's calls."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool = ModelPool(settings.models)  # for o1coder.showModels; never loads a model here

    def update_settings(self, settings: Settings) -> None:
        self.settings = settings

    def with_settings(self, settings: Settings) -> FakeEngine:
        return FakeEngine(settings)

    def plan(self, problem: Problem, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> str:
        return self._script(progress, cancel)["plan"]

    def refine(
        self, problem: Problem, plan: str, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> str:
        return self._script(progress, cancel)["plan"]

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
    ) -> SolveResult:
        script = self._script(progress, cancel)
        return SolveResult(
            code=script["code"],
            pseudocode=script.get("pseudocode", ""),
            steps=[],
            tests=[],
            test_results=None,
            stats=SearchStats(strategy="fake", prompt_version="fake"),
            value=1.0,
        )

    def generate_tests(
        self, problem: Problem, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> list[TestCase]:
        return [TestCase(name, source) for name, source in self._script(progress, cancel)["tests"]]

    def verifier(
        self, program: str, tests: Sequence[TestCase], workspace: Workspace | None = None
    ) -> VerificationReport:
        failing = set(self._script(None, None).get("failing", []))
        return VerificationReport(
            compiled=True,
            outcomes=[
                TestOutcome(t.name, TestStatus.FAILED, "fake: scripted to fail")
                if t.name in failing
                else TestOutcome(t.name, TestStatus.PASSED)
                for t in tests
            ],
        )

    def program_for(self, problem: Problem, code: str) -> str:
        return code

    def _script(self, progress: ProgressCallback | None, cancel: CancelToken | None) -> dict[str, Any]:
        script = json.loads(Path(os.environ[SCRIPT_ENV]).read_text())
        if "hold" in script:
            if progress is not None:
                progress(ProgressEvent(phase="search", message=HOLDING))
            while not Path(script["hold"]).exists():
                if cancel is not None:
                    cancel.raise_if_cancelled()
                time.sleep(0.01)
        return script

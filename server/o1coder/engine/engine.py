"""The engine facade: what the CLI, the language server and training call.

It owns the settings and a model pool, and turns a Problem into results:
`solve` (any strategy), `plan` / `refine` (pseudocode actions alone), `generate_tests`
(the TCG), `verify` (the sandbox). Every call takes an optional progress callback and
CancelToken; a cancelled call raises `Cancelled` and returns nothing partial.
Thread-safety: one call at a time per Engine. The engine takes no lock itself: the language
server runs all model work on one worker thread (`o1coder.lsp.jobs`), since one llama.cpp
context is not reentrant, and each LlamaBackend also serialises the calls into its context.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

from o1coder.config import Settings
from o1coder.engine import prompts
from o1coder.engine.budget import Meter
from o1coder.engine.problem import Problem, assemble_program
from o1coder.engine.strategies import solve as solve_with_strategy
from o1coder.engine.tcg import generate_tests as tcg_generate_tests
from o1coder.engine.types import (
    REFINE,
    STRUCTURE,
    Budget,
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    SolveResult,
)
from o1coder.models.backend import SampleParams
from o1coder.models.pool import ModelPool
from o1coder.sandbox import Workspace, run_tests
from o1coder.sandbox.types import TestCase, VerificationReport


class Engine:
    def __init__(self, settings: Settings | None = None, pool: ModelPool | None = None):
        self.settings = settings or Settings()
        self.pool = pool or ModelPool(self.settings.models)

    def update_settings(self, settings: Settings) -> None:
        """New settings; models whose role assignment changed are reloaded lazily on next use."""
        self.settings = settings
        self.pool.reconfigure(settings.models)

    def with_settings(self, settings: Settings) -> Engine:
        """An engine with other search settings over this one's models (loaded once, shared)."""
        return Engine(settings, pool=self.pool)

    def budget(self, tokens: int | None = None) -> Budget:
        s = self.settings.search
        return Budget(tokens=tokens or s.budget_tokens, nodes=s.budget_nodes, seconds=s.budget_seconds)

    def verifier(
        self, program: str, tests: Sequence[TestCase], workspace: Workspace | None = None
    ) -> VerificationReport:
        """Run `program` against `tests` in the sandbox (with the user's project, if given, around it)."""
        return run_tests(program, tests, self.settings.sandbox, workspace=workspace)

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
        """Solve `problem`; `tests` replace the generated tests, `user_tests` join them (see
        strategies.solve); candidates run with `workspace` (the user's project) around them."""
        settings = self.settings.search
        if strategy is not None and strategy != settings.strategy:
            from dataclasses import replace

            settings = replace(settings, strategy=strategy)
        notify = progress or (lambda _e: None)
        notify(ProgressEvent(phase="load", message="loading models"))
        policy, prm, tcg = (self.pool.get(r) for r in ("policy", "prm", "tcg"))
        return solve_with_strategy(
            problem,
            policy=policy,
            prm=prm,
            tcg=tcg,
            verifier=functools.partial(self.verifier, workspace=workspace),
            settings=settings,
            budget=budget or self.budget(),
            tests=tests,
            user_tests=user_tests,
            progress=progress,
            cancel=cancel,
        )

    def generate_tests(
        self,
        problem: Problem,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[TestCase]:
        backend = self.pool.get("tcg")
        meter = Meter([backend], cancel=cancel, progress=progress)  # pulses while the tests are written
        meter.notify(ProgressEvent(phase="tests", message="writing tests"))
        return tcg_generate_tests(problem, backend, self.settings.search, meter=meter, cancel=cancel)

    def plan(
        self, problem: Problem, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> str:
        """A1: the algorithm's structure in pseudocode (greedy), as plain text lines."""
        return self._pseudocode_step(problem, [], STRUCTURE, progress, cancel)

    def refine(
        self,
        problem: Problem,
        plan: str,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> str:
        """A2: a refined version of `plan` (greedy), as plain text lines."""
        return self._pseudocode_step(problem, [(STRUCTURE, plan)], REFINE, progress, cancel)

    def _pseudocode_step(
        self,
        problem: Problem,
        previous: list[tuple[str, str]],
        action: str,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> str:
        backend = self.pool.get("policy")
        meter = Meter([backend], cancel=cancel, progress=progress)  # pulses while the step is written
        meter.notify(ProgressEvent(phase="plan", message=f"{action} step"))
        text = prompts.chat_prefix(backend, problem)
        for k, (prev_action, content) in enumerate(previous, start=1):
            text += prompts.step_segment(prev_action, k, content)
        step_no = len(previous) + 1
        text += prompts.step_prompt(action, step_no)
        params = SampleParams(
            max_tokens=self.settings.search.max_step_tokens,
            temperature=0.0,
            stop=prompts.stop_strings(action),
            seed=self.settings.search.seed,
        )
        started = time.monotonic()
        [out] = meter.generate(backend, [backend.tokenize(text)], [params])
        meter.notify(
            ProgressEvent(
                phase="plan",
                tokens_generated=len(out.tokens),
                message=f"{action} step in {time.monotonic() - started:.1f}s",
            )
        )
        return prompts.step_content(action, out.text)

    def program_for(self, problem: Problem, code: str) -> str:
        return assemble_program(problem, code)

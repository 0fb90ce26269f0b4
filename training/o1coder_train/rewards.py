"""Reward functions for trl's GRPOTrainer: outcome (sandboxed tests) and process (PRM over steps).

Both follow trl's reward-function signature `(prompts, completions, **kwargs) -> list[float | None]`;
extra dataset columns arrive as keyword lists, one item per completion: `problem` (the
record's text) and `tests` (test sources). Weights are set with GRPOConfig.reward_weights
(`[rl].outcome_weight`, `[rl].process_weight`).

A completion is the policy's answer after the first step header the engine writes:
step 1's content, then `### Step k: <title>` headers with their contents, the last one a
```python block. `split_steps` reads it back into (action, content) steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from o1coder.config import SandboxSettings
from o1coder.engine import prompts as templates
from o1coder.engine.problem import Problem, ProblemError, assemble_program
from o1coder.engine.types import CODE, REFINE, STRUCTURE
from o1coder.sandbox.types import TestCase, VerificationReport

_HEADER = re.compile(r"^### Step (\d+):[^\n]*\n", re.M)
_ACTION_OF_TITLE = {title: action for action, title in templates.STEP_TITLES.items()}

Verifier = Callable[[str, list[TestCase]], VerificationReport]


def split_steps(completion: str, first_action: str = STRUCTURE) -> list[tuple[str, str]]:
    """(action, content) steps of a completion that starts inside step 1.

    >>> split_steps("1. read\\n\\n### Step 2: Generate the Python code\\n```python\\ndef f():\\n    return 1\\n```")
    [('structure', '1. read'), ('code', 'def f():\\n    return 1')]
    """
    parts: list[tuple[str, str]] = []
    headers = list(_HEADER.finditer(completion))
    bounds = [(first_action, 0, headers[0].start() if headers else len(completion))]
    for i, m in enumerate(headers):
        title = m.group(0).split(":", 1)[1].strip()
        action = _ACTION_OF_TITLE.get(title, REFINE)
        end = headers[i + 1].start() if i + 1 < len(headers) else len(completion)
        bounds.append((action, m.end(), end))
    for action, start, end in bounds:
        content = completion[start:end]
        if action == CODE:
            block = templates.first_code_block(content)
            content = block if block is not None else content.removeprefix(templates.CODE_FENCE)
            content = content.split("```", 1)[0]
        content = templates.clean_step_text(content)
        if content:
            parts.append((action, content))
    return parts


def completion_code(completion: str) -> str | None:
    """The code the answer ends with: its first ```python block; None when it wrote none."""
    return templates.first_code_block(completion)


def _as_text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):  # conversational
        return str(completion[-1].get("content", ""))
    return str(completion)


class OutcomeReward:
    """compile_weight * compiled + (1 - compile_weight) * pass rate of the answer's code on `tests`.

    >>> fake = lambda program, tests: VerificationReport(compiled=True, outcomes=[])  # a fake verifier
    >>> reward = OutcomeReward(verifier=fake, compile_weight=0.1)
    >>> reward(["p"], ["no code at all"], problem=["def f():\\n    pass\\n"], tests=[["assert f() == 1"]])
    [0.0]
    """

    __name__ = "outcome"

    def __init__(
        self,
        verifier: Verifier | None = None,
        compile_weight: float = 0.1,
        sandbox: SandboxSettings | None = None,
    ):
        if verifier is None:
            from o1coder.sandbox import run_tests

            limits = sandbox or SandboxSettings()
            verifier = lambda program, tests: run_tests(program, tests, limits)  # noqa: E731
        self.verifier = verifier
        self.compile_weight = compile_weight

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        problems, tests = kwargs["problem"], kwargs["tests"]
        out: list[float | None] = []
        for completion, text, test_sources in zip(completions, problems, tests, strict=True):
            code = completion_code(_as_text(completion))
            if code is None or not test_sources:
                out.append(0.0)
                continue
            try:
                problem = Problem.from_source(text)
            except ProblemError:
                out.append(None)  # not this function's business: trl ignores None
                continue
            cases = [TestCase(name=f"test_{i + 1}", source=s) for i, s in enumerate(test_sources)]
            report = self.verifier(assemble_program(problem, code), cases)
            out.append(report.reward(self.compile_weight))
        return out


class ProcessReward:
    """(1/m) * sum_j gamma^j * r_j over the answer's m steps, r_j the PRM's P(yes) for step j.

    Steps are judged exactly as the engine judges them: the chat prompt (rebuilt from the
    problem), the steps up to j with the engine's headers, then the PRM judgement suffix.

    >>> class FakePrm:  # a fake judge: every step scores 0.5
    ...     name = "fake"
    ...     def tokenize(self, text): return [len(text)]
    ...     def render_chat(self, messages, add_generation_prompt=True): return "|".join(m["content"] for m in messages)
    ...     def judge(self, prefixes, yes, no): return [0.5] * len(prefixes)
    >>> ProcessReward(FakePrm(), gamma=1.0)(["p"], ["1. plan\\n"], problem=["def f():\\n    pass\\n"])
    [0.5]
    """

    __name__ = "process"

    def __init__(self, prm: Any, gamma: float = 0.9, max_steps: int = 8):
        self.prm = prm
        self.gamma = gamma
        self.max_steps = max_steps
        self._suffix: list[int] | None = None

    def _judge_suffix(self) -> list[int]:
        if self._suffix is None:
            self._suffix = self.prm.tokenize(templates.judge_suffix(self.prm, templates.PRM_QUESTION))
        return self._suffix

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        problems = kwargs["problem"]
        suffix = self._judge_suffix()
        prefixes: list[list[int]] = []
        owners: list[int] = []
        for i, (completion, text) in enumerate(zip(completions, problems, strict=True)):
            try:
                problem = Problem.from_source(text)
            except ProblemError:
                continue
            tokens = self.prm.tokenize(
                self.prm.render_chat(templates.method_messages(problem), add_generation_prompt=True)
            )
            for k, (action, content) in enumerate(
                split_steps(_as_text(completion))[: self.max_steps], start=1
            ):
                tokens = tokens + self.prm.tokenize(templates.step_header(action, k))
                tokens = tokens + self.prm.tokenize(templates.step_body(action, content))
                prefixes.append(tokens + suffix)
                owners.append(i)
        scores = self.prm.judge(prefixes, templates.YES, templates.NO) if prefixes else []
        per: dict[int, list[float]] = {}
        for owner, score in zip(owners, scores, strict=True):
            per.setdefault(owner, []).append(score)
        out: list[float | None] = []
        for i in range(len(completions)):
            steps = per.get(i)
            out.append(sum(self.gamma**j * r for j, r in enumerate(steps)) / len(steps) if steps else 0.0)
        return out

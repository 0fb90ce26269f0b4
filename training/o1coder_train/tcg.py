"""The test-case generator's training side: examples, execution-judged candidates, metrics.

Everything is rendered with the engine's own TCG prompt (`prompts.tcg_messages` under the
tokenizer's chat template, then `prompts.tcg_answer_start`), so the model learns to continue
exactly the text `o1coder.engine.tcg.generate_tests` gives it at inference.

A candidate test set is judged by execution only:
- it must parse (`parse_tests`, the engine's strict parser) and every test must pass the
  reference solution;
- it should reject wrong solutions: the fraction of AST mutants of the reference it rejects.
Chosen sets parse, pass the reference and reject at least one mutant; rejected sets do not
parse, fail on the reference, or accept every mutant.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from o1coder.config import SandboxSettings, SearchSettings
from o1coder.engine import prompts
from o1coder.engine.problem import Problem, assemble_program
from o1coder.engine.tcg import generate_tests, sample_text
from o1coder.engine.tests_format import MalformedTests, parse_tests
from o1coder.sandbox.types import TestCase
from o1coder_train.data.loaders import stdio_solution
from o1coder_train.data.records import ProblemRecord
from o1coder_train.mutants import mutants

DEFAULT_NUM_TESTS = SearchSettings().num_tests


def tcg_prompt(backend: Any, problem: Problem, n: int = DEFAULT_NUM_TESTS) -> str:
    """The text the TCG model continues (chat + the answer start the engine writes)."""
    chat = backend.render_chat(prompts.tcg_messages(problem, n), add_generation_prompt=True)
    return chat + prompts.tcg_answer_start(problem)


def single_asserts(tests: Sequence[str]) -> list[str]:
    """Tests that are one-line `assert` statements with no imports (what the TCG writes)."""
    out = []
    for src in tests:
        if "\n" in src.strip():
            continue
        try:
            module = ast.parse(src)
        except SyntaxError:
            continue
        if len(module.body) == 1 and isinstance(module.body[0], ast.Assert):
            out.append(src.strip())
    return out


def tcg_target(problem: Problem, tests: Sequence[str], n: int = DEFAULT_NUM_TESTS) -> str | None:
    """The completion after `tcg_answer_start`: the record's tests as asserts, then the closing fence.

    None when no test starts with `assert <function>(` (the engine writes that start itself).
    """
    start = f"assert {problem.function_name}("
    asserts = single_asserts(tests)
    first = next((t for t in asserts if t.startswith(start)), None)
    if first is None:
        return None
    rest = [t for t in asserts if t != first][: max(0, n - 1)]
    return "\n".join([first[len(start) :], *rest]) + "\n```"


def reference_program(record: ProblemRecord, problem: Problem) -> str:
    return assemble_program(problem, record.solutions[0])


def mutant_programs(record: ProblemRecord, problem: Problem, limit: int, seed: int = 0) -> list[str]:
    """Wrong programs: mutants of the reference (of the inner program for stdin/stdout problems)."""
    programs = record.meta.get("stdio_programs")
    if programs:
        return [assemble_program(problem, stdio_solution(m)) for m in mutants(programs[0], limit, seed)]
    return [assemble_program(problem, m) for m in mutants(record.solutions[0], limit, seed)]


@dataclass
class Judged:
    completion: str
    parsed: bool
    passes_reference: bool
    kill_rate: float
    tests: int
    reason: str = ""
    origin: str = "sample"

    @property
    def chosen(self) -> bool:
        return self.parsed and self.passes_reference and self.kill_rate > 0

    @property
    def score(self) -> tuple[float, int]:
        return (self.kill_rate, self.tests)


def judge_completion(
    problem: Problem,
    completion: str,
    reference: str,
    wrong: Sequence[str],
    sandbox: SandboxSettings,
    origin: str = "sample",
) -> Judged:
    """Judge one TCG completion by executing it against the reference and its mutants."""
    from o1coder.sandbox import run_tests

    text = prompts.tcg_answer_start(problem) + completion
    try:
        tests = parse_tests(text, problem.function_name)
    except MalformedTests as exc:
        return Judged(completion, False, False, 0.0, 0, f"does not parse: {exc}", origin)
    report = run_tests(reference, tests, sandbox)
    if not report.compiled or report.passed < report.total:
        failed = next((o.name for o in report.outcomes if not o.passed), "")
        return Judged(completion, True, False, 0.0, len(tests), f"fails on the reference ({failed})", origin)
    killed = 0
    for program in wrong:
        result = run_tests(program, tests, sandbox)
        if not result.compiled or result.passed < result.total:
            killed += 1
    rate = killed / len(wrong) if wrong else 0.0
    reason = "" if rate > 0 else "accepts every mutant"
    return Judged(completion, True, True, rate, len(tests), reason, origin)


@dataclass
class PairSet:
    pairs: list[dict[str, str]] = field(default_factory=list)
    judged: list[Judged] = field(default_factory=list)


def preference_pairs(prompt: str, judged: Sequence[Judged], max_pairs: int) -> list[dict[str, str]]:
    """DPO rows {prompt, chosen, rejected}: best chosen sets first, each against a rejected one."""
    chosen = sorted((j for j in judged if j.chosen), key=lambda j: j.score, reverse=True)
    rejected = [j for j in judged if not j.chosen]
    pairs: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for i in range(max(len(chosen), len(rejected))):
        if not chosen or not rejected:
            break
        c, r = chosen[i % len(chosen)], rejected[i % len(rejected)]
        key = (c.completion, r.completion)
        if c.completion == r.completion or key in seen:
            continue
        seen.add(key)
        pairs.append({"prompt": prompt, "chosen": c.completion, "rejected": r.completion})
        if len(pairs) >= max_pairs:
            break
    return pairs


def sample_completions(
    backend: Any, problem: Problem, k: int, temperature: float, max_tokens: int, seed: int
) -> list[str]:
    """k TCG completions from the model, as the engine would read them (length-cut line dropped)."""
    from o1coder.models.backend import SampleParams

    start = prompts.tcg_answer_start(problem)
    prefix = backend.tokenize(tcg_prompt(backend, problem))
    params = [
        SampleParams(max_tokens=max_tokens, temperature=temperature, seed=seed + i, stop=prompts.CODE_STOPS)
        for i in range(k)
    ]
    outs = backend.generate([prefix] * k, params)
    return [sample_text(start, out)[len(start) :] + "\n```" for out in outs]


def tcg_pass_rate(
    backend: Any,
    records: Sequence[ProblemRecord],
    sandbox: SandboxSettings,
    num_tests: int = DEFAULT_NUM_TESTS,
    seed: int = 0,
    progress: Any = None,
) -> dict[str, float]:
    """Pass rate of generated tests on the reference code (the O1-CODER TCG metric).

    Tests come from the engine's own `generate_tests`; the problem's docstring examples it adds
    are not counted (only model-written tests are).
    """
    from o1coder.sandbox import run_tests

    settings = SearchSettings(seed=seed, num_tests=num_tests)
    passed = total = with_tests = 0
    items = progress(records, "TCG pass rate") if progress else records
    for record in items:
        problem = record.problem()
        tests = generate_tests(problem, backend, settings)
        examples = {t.source for t in problem.docstring_examples}
        generated = [t for t in tests if t.source not in examples]
        if not generated:
            continue
        with_tests += 1
        report = run_tests(reference_program(record, problem), generated, sandbox)
        passed += report.passed
        total += report.total
    return {
        "tcg_pass_rate": passed / total if total else 0.0,
        "tcg_tests_generated": float(total),
        "tcg_problems_with_tests": float(with_tests),
        "tcg_problems": float(len(records)),
    }


def as_test_cases(sources: Sequence[str]) -> list[TestCase]:
    return [TestCase(name=f"test_{i + 1}", source=s) for i, s in enumerate(sources)]

"""The test-case generator at inference: the problem's own examples plus model-written asserts.

A few samples of the TCG prompt are drawn in one batched call (low temperature); each is
parsed strictly (a malformed sample is dropped whole), the union is deduplicated, asserts that
contradict a docstring example (same call, another expected value) or call the function
with arguments its signature does not accept are dropped, and the
generated part is capped at `settings.num_tests`.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from o1coder.config import SearchSettings
from o1coder.engine import prompts
from o1coder.engine.budget import Meter
from o1coder.engine.problem import FLOAT_TOLERANCE, Problem, is_float_literal
from o1coder.engine.tests_format import MalformedTests, dedupe_key, parse_tests
from o1coder.engine.types import CancelToken
from o1coder.models.backend import Backend, Continuation, SampleParams
from o1coder.sandbox.types import TestCase

TCG_SAMPLES = 2
TCG_TEMPERATURE = 0.2
TOKENS_PER_TEST = 40


def generate_tests(
    problem: Problem,
    backend: Backend,
    settings: SearchSettings,
    meter: Meter | None = None,
    cancel: CancelToken | None = None,
    samples: int = TCG_SAMPLES,
) -> list[TestCase]:
    """Docstring examples first, then up to `settings.num_tests` generated asserts."""
    meter = meter or Meter([backend], cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    request = tcg_request(problem, backend, settings, meter.tokens_left // samples, samples)
    outs = meter.generate(backend, request.prefixes, request.params)
    return request.tests(problem, outs, settings)


@dataclass
class TcgRequest:
    """The TCG's samples as one batch of prompts, so a caller can decode them with other streams."""

    start: str  # the start of the answer the engine writes (the block and the first assert)
    prefixes: list[list[int]]
    params: list[SampleParams]

    def tests(
        self, problem: Problem, outs: Sequence[Continuation], settings: SearchSettings
    ) -> list[TestCase]:
        return merge_tests(problem, [sample_text(self.start, out) for out in outs], settings.num_tests)


def tcg_request(
    problem: Problem, backend: Backend, settings: SearchSettings, cap: int, samples: int = TCG_SAMPLES
) -> TcgRequest:
    """`samples` TCG prompts, each sample capped at `cap` tokens (its share of the budget)."""
    start = prompts.tcg_answer_start(problem)
    chat = backend.render_chat(prompts.tcg_messages(problem, settings.num_tests), add_generation_prompt=True)
    prefix = backend.tokenize(chat + start)
    params = [
        SampleParams(
            max_tokens=max(1, min(TOKENS_PER_TEST * settings.num_tests + 20, cap)),
            temperature=TCG_TEMPERATURE,
            top_k=settings.top_k,
            top_p=settings.top_p,
            seed=settings.seed + i,
            stop=prompts.CODE_STOPS,
        )
        for i in range(samples)
    ]
    return TcgRequest(start, [prefix] * samples, params)


def sample_text(start: str, out: Continuation) -> str:
    """The sample as written (with the part the engine wrote); a length-cut last line is dropped."""
    text = start + out.text
    if out.finish_reason == "length":
        text = text[: text.rfind("\n") + 1] if "\n" in text else ""
    return text


def merge_tests(problem: Problem, samples: list[str], limit: int) -> list[TestCase]:
    """The problem's examples plus the first `limit` new, non-contradicting tests of the samples."""
    tests = list(problem.docstring_examples)
    seen = {dedupe_key(t) for t in tests}
    expected_of = {pair[0]: pair[1] for t in tests if (pair := call_and_expected(t.source)) is not None}
    generated: list[TestCase] = []
    for text in samples:
        try:
            parsed = parse_tests(text, problem.function_name, method=problem.class_name is not None)
        except MalformedTests:
            continue
        for test in map(float_tolerant, parsed):
            key = dedupe_key(test)
            pair = call_and_expected(test.source)
            if key in seen or (pair is not None and expected_of.get(pair[0], pair[1]) != pair[1]):
                continue
            if not calls_fit(problem, test.source):
                continue
            seen.add(key)
            generated.append(test)
    names = {t.name for t in tests}
    for test in generated[:limit]:
        name = test.name
        if name in names or name.removeprefix("test_").isdigit():
            number = 1
            while f"test_{number}" in names:
                number += 1
            name = f"test_{number}"
        names.add(name)
        tests.append(TestCase(name=name, source=test.source))
    return tests


def calls_fit(problem: Problem, source: str) -> bool:
    """Whether every call of the function in `source` matches its signature."""
    name = problem.function_name
    calls = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
    ]
    return all(problem.accepts_call(call) for call in calls)


def float_tolerant(test: TestCase) -> TestCase:
    """`assert CALL == <float literal>` compared within 1e-6, like the docstring examples."""
    module = ast.parse(test.source)
    stmt = module.body[-1]
    if (
        isinstance(stmt, ast.Assert)
        and stmt.msg is None
        and isinstance(stmt.test, ast.Compare)
        and len(stmt.test.ops) == 1
        and isinstance(stmt.test.ops[0], ast.Eq)
        and is_float_literal(stmt.test.comparators[0])
    ):
        call, expected = ast.unparse(stmt.test.left), ast.unparse(stmt.test.comparators[0])
        lines = test.source.splitlines()
        head = lines[: stmt.lineno - 1]
        return TestCase(
            test.name, "\n".join([*head, f"assert abs({call} - ({expected})) < {FLOAT_TOLERANCE}"])
        )
    return test


def call_and_expected(source: str) -> tuple[str, str] | None:
    """(call, expected) of `assert CALL == EXPECTED` or `assert abs(CALL - (EXPECTED)) < tol`, as AST dumps."""
    try:
        module = ast.parse(source)
    except SyntaxError:
        return None
    stmt = module.body[-1] if module.body else None
    if not isinstance(stmt, ast.Assert) or not isinstance(stmt.test, ast.Compare) or len(stmt.test.ops) != 1:
        return None
    left, op, right = stmt.test.left, stmt.test.ops[0], stmt.test.comparators[0]
    if isinstance(op, ast.Eq):
        return ast.dump(left), ast.dump(right)
    if (
        isinstance(op, ast.Lt)
        and isinstance(left, ast.Call)
        and isinstance(left.func, ast.Name)
        and left.func.id == "abs"
        and len(left.args) == 1
        and isinstance(left.args[0], ast.BinOp)
        and isinstance(left.args[0].op, ast.Sub)
    ):
        return ast.dump(left.args[0].left), ast.dump(left.args[0].right)
    return None

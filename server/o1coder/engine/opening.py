"""The opening of a solve: the TCG's tests and the policy's greedy direct answer, decoded together.

Both depend on the problem alone. When one loaded model serves the TCG and the policy (the
default), their prompts are decoded in one batched generate: on a CPU, three streams in one
batch produce tokens about 1.8x as fast as one stream. With two models they run one after the
other. The direct answer is the greedy baseline's answer (the direct prompt, temperature 0);
the search starts from it (System 1) and samples more direct answers only when it fails a
test (`StepRunner.sample_direct_answers`).
"""

from __future__ import annotations

from dataclasses import dataclass

from o1coder.config import SearchSettings
from o1coder.engine.baselines import direct_request
from o1coder.engine.budget import Meter
from o1coder.engine.problem import Problem
from o1coder.engine.tcg import TCG_SAMPLES, tcg_request
from o1coder.engine.tests_format import dedupe_key
from o1coder.models.backend import Backend, Continuation
from o1coder.sandbox.types import TestCase


@dataclass
class DirectAnswer:
    prefix: list[int]  # the direct prompt (the policy's tokens)
    answer: Continuation  # its greedy continuation


@dataclass
class Opening:
    tests: list[TestCase]
    direct: DirectAnswer | None = None  # when asked for


def open_solve(
    problem: Problem,
    *,
    policy: Backend,
    tcg: Backend,
    settings: SearchSettings,
    meter: Meter,
    tests: list[TestCase] | None,
    direct: bool,
    given: list[TestCase] | None = None,
) -> Opening:
    """Tests and, if `direct`, the greedy direct answer.

    The tests are `given` (the user's) followed by what the TCG writes, or `tests` alone when
    those are passed (then the TCG writes nothing). The streams' caps add up to at most the
    budget left, so the opening never spends more than the budget. Beside a direct answer the
    TCG's samples get at most half of it together (they are short; a cut-off answer would be
    wasted), and the answer gets the rest.
    """
    left = meter.tokens_left
    tcg_part = None
    if tests is None:
        share = left // (2 if direct else 1) // TCG_SAMPLES
        tcg_part = tcg_request(problem, tcg, settings, share)
        left -= sum(p.max_tokens for p in tcg_part.params)
    direct_part = direct_request(problem, policy, settings, 1, 0.0, left) if direct else None

    if tcg_part is not None and direct_part is not None and tcg is policy:
        outs = meter.generate(
            policy, tcg_part.prefixes + direct_part.prefixes, tcg_part.params + direct_part.params
        )
        tcg_outs, direct_outs = outs[: len(tcg_part.prefixes)], outs[len(tcg_part.prefixes) :]
    else:
        tcg_outs = meter.generate(tcg, tcg_part.prefixes, tcg_part.params) if tcg_part else []
        direct_outs = meter.generate(policy, direct_part.prefixes, direct_part.params) if direct_part else []

    written = tcg_part.tests(problem, tcg_outs, settings) if tcg_part else list(tests or [])
    if given:
        written = merge_given(given, written)
    if direct_part is None:
        return Opening(tests=written)
    return Opening(tests=written, direct=DirectAnswer(direct_part.prefixes[0], direct_outs[0]))


def merge_given(given: list[TestCase], generated: list[TestCase]) -> list[TestCase]:
    """The user's tests first, then the generated ones that repeat none of them (names kept unique)."""
    seen = {dedupe_key(t) for t in given}
    names = {t.name for t in given}
    out = list(given)
    for test in generated:
        if dedupe_key(test) in seen:
            continue
        name = test.name
        while name in names:
            name = "generated_" + name
        names.add(name)
        out.append(TestCase(name, test.source))
    return out

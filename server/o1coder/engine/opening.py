"""The opening of a solve: the TCG's tests and the policy's greedy direct answer, decoded together.

Both depend on the problem alone. When one loaded model serves the TCG and the policy (the
default), their prompts are decoded in one batched generate: on a CPU, three streams in one
batch produce tokens about 1.8x as fast as one stream. With two models they run one after the
other. The direct answer is the greedy baseline's answer (the direct prompt, temperature 0);
the search starts from it when `search.directAnswerFirst` is on.
"""

from __future__ import annotations

from dataclasses import dataclass

from o1coder.config import SearchSettings
from o1coder.engine.baselines import direct_request
from o1coder.engine.budget import Meter
from o1coder.engine.problem import Problem
from o1coder.engine.tcg import TCG_SAMPLES, tcg_request
from o1coder.models.backend import Backend, Continuation
from o1coder.sandbox.types import TestCase


@dataclass
class Opening:
    tests: list[TestCase]
    direct: Continuation | None = None  # the greedy direct answer, when asked for
    direct_prefix: list[int] | None = None  # the prompt it continues (the policy's tokens)


def open_solve(
    problem: Problem,
    *,
    policy: Backend,
    tcg: Backend,
    settings: SearchSettings,
    meter: Meter,
    tests: list[TestCase] | None,
    direct: bool,
) -> Opening:
    """Tests (written by the TCG unless given) and, if `direct`, the greedy direct answer.

    Every stream gets an equal share of the token budget left, so the opening never spends
    more than the budget.
    """
    streams = (TCG_SAMPLES if tests is None else 0) + (1 if direct else 0)
    if streams == 0:
        return Opening(tests=list(tests or []))
    cap = meter.tokens_left // streams
    tcg_part = tcg_request(problem, tcg, settings, cap) if tests is None else None
    direct_part = direct_request(problem, policy, settings, 1, 0.0, cap) if direct else None

    if tcg_part is not None and direct_part is not None and tcg is policy:
        outs = meter.generate(
            policy, tcg_part.prefixes + direct_part.prefixes, tcg_part.params + direct_part.params
        )
        tcg_outs, direct_outs = outs[: len(tcg_part.prefixes)], outs[len(tcg_part.prefixes) :]
    else:
        tcg_outs = meter.generate(tcg, tcg_part.prefixes, tcg_part.params) if tcg_part else []
        direct_outs = meter.generate(policy, direct_part.prefixes, direct_part.params) if direct_part else []

    written = tcg_part.tests(problem, tcg_outs, settings) if tcg_part else list(tests or [])
    if direct_part is None:
        return Opening(tests=written)
    return Opening(tests=written, direct=direct_outs[0], direct_prefix=direct_part.prefixes[0])

"""The floors a search must beat at the same budget, verified the same way.

- greedy: the direct prompt (`prompts.direct_messages`), temperature 0, one sample, first code block taken;
- best-of-N: N samples of the direct prompt in one batched call, N fitted to the token budget
  left; each is executed against the tests, and execution agreement picks the answer: the
  best member of the best cluster of behaviour (see `agreement`), suspect tests marked;
- pseudocode chain: structure -> refine -> code in the pseudocode-first format, temperature 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from o1coder.config import SearchSettings
from o1coder.engine import prompts
from o1coder.engine.budget import Meter, Verifier
from o1coder.engine.problem import Problem, assemble_program
from o1coder.engine.steps import Candidate, StepRunner, consensus_answer, reconcile, stated_tests
from o1coder.engine.tree import Node
from o1coder.engine.types import CODE, REFINE, STRUCTURE, Step
from o1coder.models.backend import Backend, Continuation, SampleParams
from o1coder.sandbox.types import TestCase

BEST_OF_N_CAP = 8
EXPECTED_TOKENS_PER_SAMPLE = 300  # a direct answer is ~230 tokens on average (greedy HumanEval, 0.5B)


def best_of_n_size(tokens_left: int) -> int:
    """How many direct samples are expected to fit in `tokens_left`."""
    return max(1, min(BEST_OF_N_CAP, tokens_left // EXPECTED_TOKENS_PER_SAMPLE))


def greedy(
    problem: Problem,
    tests: list[TestCase],
    *,
    policy: Backend,
    verifier: Verifier,
    settings: SearchSettings,
    meter: Meter,
    answer: Continuation | None = None,
) -> Candidate:
    """The greedy direct answer; `answer` is one already written (in the opening's batch)."""
    if answer is None:
        return _direct(
            problem, tests, 1, 0.0, policy=policy, verifier=verifier, settings=settings, meter=meter
        )
    [candidate] = direct_candidates(
        problem, [answer], tests, verifier=verifier, settings=settings, meter=meter
    )
    return candidate


def best_of_n(
    problem: Problem,
    tests: list[TestCase],
    *,
    policy: Backend,
    verifier: Verifier,
    settings: SearchSettings,
    meter: Meter,
    n: int | None = None,
    into: list[Candidate] | None = None,
) -> Candidate:
    """The answer agreement picks among `n` samples; every sample verified is added to `into`."""
    n = n if n is not None else best_of_n_size(meter.tokens_left)
    return _direct(
        problem,
        tests,
        n,
        settings.temperature,
        policy=policy,
        verifier=verifier,
        settings=settings,
        meter=meter,
        into=into,
    )


def _direct(
    problem: Problem,
    tests: list[TestCase],
    n: int,
    temperature: float,
    *,
    policy: Backend,
    verifier: Verifier,
    settings: SearchSettings,
    meter: Meter,
    into: list[Candidate] | None = None,
) -> Candidate:
    # The budget caps every sample: no strategy may spend more than it was given.
    request = direct_request(problem, policy, settings, n, temperature, meter.tokens_left // n)
    outs = meter.generate(policy, request.prefixes, request.params)
    candidates = direct_candidates(problem, outs, tests, verifier=verifier, settings=settings, meter=meter)
    if into is not None:
        into.extend(candidates)
    best = consensus_answer(candidates, reconcile(candidates, settings.compile_weight, stated_tests(problem, tests)))
    if best is None:
        raise ValueError("a direct answer needs at least one sample")
    return best


@dataclass
class DirectRequest:
    """`n` samples of the direct prompt as one batch of prompts (decodable with other streams)."""

    prefixes: list[list[int]]
    params: list[SampleParams]


def direct_request(
    problem: Problem,
    policy: Backend,
    settings: SearchSettings,
    n: int,
    temperature: float,
    cap: int,
) -> DirectRequest:
    """The direct prompt `n` times (seeds seed, seed+1, ...), each sample capped at `cap` tokens."""
    chat = policy.render_chat(prompts.direct_messages(problem), add_generation_prompt=True)
    prefix = policy.tokenize(chat + prompts.direct_answer_start(problem))
    params = [
        SampleParams(
            max_tokens=max(1, min(prompts.DIRECT_MAX_TOKENS, cap)),
            temperature=temperature,
            top_k=settings.top_k,
            top_p=settings.top_p,
            seed=settings.seed + i,
            stop=prompts.direct_stops(problem),
        )
        for i in range(n)
    ]
    return DirectRequest([prefix] * n, params)


def direct_candidates(
    problem: Problem,
    outs: Sequence[Continuation],
    tests: list[TestCase],
    *,
    verifier: Verifier,
    settings: SearchSettings,
    meter: Meter,
) -> list[Candidate]:
    """Each direct answer's first code block, verified; each sample counts as a one-step node."""
    meter.nodes += len(outs)
    candidates = []
    start = prompts.direct_answer_start(problem)
    for out in outs:
        code = prompts.extract_code(start + out.text)
        report = meter.verify(verifier, assemble_program(problem, code), tests)
        candidates.append(Candidate(code, [Step(CODE, code)], report, report.reward(settings.compile_weight)))
    return candidates


def pseudocode_chain(runner: StepRunner) -> Candidate | None:
    """One greedy pseudocode-first chain; a step the model leaves empty is skipped."""
    node: Node = runner.root
    for action in (STRUCTURE, REFINE, CODE):
        steps = runner.propose(
            node, [action], temperature=0.0, seeds=[runner.settings.seed], attach=True, final=action == CODE
        )
        if steps:
            node = steps[0]
    return runner.verify(node) if node.is_code else None

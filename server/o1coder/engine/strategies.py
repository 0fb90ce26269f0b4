"""`solve`: tests first (unless given; the greedy direct answer in the same batch where it is used), then
one strategy, then a SolveResult with its costs."""

from __future__ import annotations

from o1coder.config import STRATEGIES, SearchSettings
from o1coder.engine.agreement import agree
from o1coder.engine.baselines import best_of_n, greedy, pseudocode_chain
from o1coder.engine.budget import Meter, Verifier, unique_backends
from o1coder.engine.mcts import MCTS
from o1coder.engine.opening import open_solve
from o1coder.engine.problem import Problem, target_code
from o1coder.engine.prompts import PROMPT_VERSION
from o1coder.engine.steps import Candidate, StepRunner
from o1coder.engine.tree import Node
from o1coder.engine.types import (
    CODE_ACTIONS,
    Budget,
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    SearchStats,
    SolveResult,
)
from o1coder.models.backend import Backend
from o1coder.sandbox.types import TestCase

# What the strategies other than MCTS do after the tests, for the progress line.
STRATEGY_STEPS = {
    "greedy": "checking the greedy answer",
    "best-of-n": "sampling answers",
    "pseudocode": "a plan, then code",
}


def solve(
    problem: Problem,
    *,
    policy: Backend,
    prm: Backend,
    tcg: Backend,
    verifier: Verifier,
    settings: SearchSettings,
    budget: Budget,
    tests: list[TestCase] | None = None,
    user_tests: list[TestCase] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> SolveResult:
    """Solve `problem` with `settings.strategy` within `budget` (which the test generation also spends).

    `tests` replace the generated tests; `user_tests` join them (first), judged by the same
    execution agreement: one that contradicts a consensus is reported `suspect`.
    """
    if settings.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {settings.strategy!r}: use one of {', '.join(STRATEGIES)}")
    backends = unique_backends([policy, prm, tcg])
    for backend in backends:
        backend.tree.clear()
        backend.forget()  # a cache holding earlier problems slows every step of this one
    # every event goes out through the meter, which repeats the latest with fresh token counts
    # while a long model call runs (see budget.Meter)
    meter = Meter(backends, budget, cancel, progress=progress)
    notify = meter.notify

    # The greedy answer, and the search's starting answer, are written with the tests when one
    # model serves both roles (one batch); see `opening`.
    direct = settings.strategy == "greedy" or (settings.strategy == "mcts" and settings.direct_answer_first)
    if tests is None:
        notify(ProgressEvent(phase="tests", message="writing tests"))
    elif direct:
        notify(ProgressEvent(phase="search", message="writing the direct answer"))
    opening = open_solve(
        problem,
        policy=policy,
        tcg=tcg,
        settings=settings,
        meter=meter,
        tests=tests,
        direct=direct,
        given=user_tests,
    )
    tests = opening.tests
    notify(
        ProgressEvent(
            phase="tests",
            tests_total=len(tests),
            tokens_generated=meter.tokens_generated,
            message=f"{len(tests)} tests",
        )
    )

    if settings.strategy != "mcts":  # the search announces itself
        notify(
            ProgressEvent(
                phase="plan" if settings.strategy == "pseudocode" else "search",
                tokens_generated=meter.tokens_generated,
                message=STRATEGY_STEPS[settings.strategy],
            )
        )

    answer: Candidate | None
    tree: Node | None = None
    stopped_by = "done"
    candidates: list[Candidate] = []
    if settings.strategy in ("mcts", "pseudocode"):
        runner = StepRunner(
            problem, tests, policy=policy, prm=prm, verifier=verifier, settings=settings, meter=meter
        )
        tree = runner.root
        if settings.strategy == "mcts":
            if opening.direct is not None:
                # System 1: the greedy answer; when it fails a test, a few sampled answers for
                # execution agreement to weigh against the tests, before any tree search
                runner.add_direct_answers(opening.direct.prefix, [opening.direct.answer])
                best = runner.best()
                if settings.direct_samples > 1 and (best is None or best.reward < settings.value_threshold):
                    runner.sample_direct_answers(settings.direct_samples - 1)
            outcome = MCTS(runner, settings, notify if progress is not None else None).run()
            answer, stopped_by = outcome.best, outcome.stopped_by
        else:
            answer = pseudocode_chain(runner)
        candidates = runner.candidates
    elif settings.strategy == "greedy":
        answer = greedy(
            problem,
            tests,
            policy=policy,
            verifier=verifier,
            settings=settings,
            meter=meter,
            answer=opening.direct.answer if opening.direct else None,
        )
    else:
        candidates = []
        answer = best_of_n(
            problem, tests, policy=policy, verifier=verifier, settings=settings, meter=meter, into=candidates
        )
    if settings.strategy == "greedy" and answer is not None:
        candidates = [answer]

    stats = _stats(settings.strategy, meter, stopped_by)
    _agreement_stats(stats, candidates, answer)
    result = _result(answer, tests, tree, stats, problem)
    notify(
        ProgressEvent(
            phase="done",
            nodes=result.stats.nodes,
            best_value=result.value,
            tests_passing=result.test_results.passed if result.test_results else 0,
            tests_total=len(tests),
            tokens_generated=result.stats.tokens_generated,
        )
    )
    return result


def _stats(strategy: str, meter: Meter, stopped_by: str) -> SearchStats:
    spent = meter.spent()
    wall = meter.seconds
    return SearchStats(
        strategy=strategy,
        prompt_version=PROMPT_VERSION,
        nodes=meter.nodes,
        tokens_generated=spent.tokens_generated,
        prompt_tokens_evaluated=spent.prompt_tokens_evaluated,
        unique_tree_tokens=meter.unique_tree_tokens(),
        judgements=spent.judgements,
        wall_seconds=wall,
        tokens_per_second=spent.tokens_generated / wall if wall > 0 else 0.0,
        stopped_by=stopped_by,
    )


def _agreement_stats(stats: SearchStats, candidates: list[Candidate], answer: Candidate | None) -> None:
    """Candidates verified, clusters of behaviour among them, suspect tests in the answer."""
    stats.candidates = len(candidates)
    stats.clusters = len(agree(candidates).clusters) if candidates else 0
    stats.suspect_tests = answer.report.suspect if answer is not None else 0
    if stats.stopped_by in ("consensus", "threshold"):
        stats.ended_by = stats.stopped_by
    elif stats.stopped_by in ("tokens", "nodes", "seconds"):
        stats.ended_by = "budget"
    else:
        stats.ended_by = stats.stopped_by or "done"


def _result(
    answer: Candidate | None, tests: list[TestCase], tree: Node | None, stats: SearchStats, problem: Problem
) -> SolveResult:
    if answer is None:  # the model wrote no code at all
        return SolveResult(
            code="", pseudocode="", steps=[], tests=tests, test_results=None, stats=stats, tree=tree
        )
    return SolveResult(
        code=target_code(problem, answer.code),  # a method's problem: the method alone
        pseudocode="\n\n".join(step.text for step in answer.steps if step.action not in CODE_ACTIONS),
        steps=answer.steps,
        tests=tests,
        test_results=answer.report,
        stats=stats,
        value=answer.reward,
        tree=tree,
        chosen=answer.node,
    )

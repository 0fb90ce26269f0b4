"""Execution agreement: trust the generated tests only as far as the candidates' behaviour bears them out.

Every candidate is run on the inputs of the same tests (one sandbox process per candidate, see
`o1coder.sandbox`), and each test's outcome carries what the candidate's code returned (or
which exception it raised) in one canonical text. Candidates with the same outputs on every
test form a cluster. A cluster scores as in CodeT (Chen et al., 2022): the number of its
members times the number of tests it passes; ties go to more tests passed, then more
members, then the best member's verified rank. The answer is the best member of the best
cluster.

A test whose expected value contradicts the best cluster, when that cluster has at least two
independent members (different code, not one program sampled twice), is **suspect**: when
several different programs compute the same value and the test expects another, the test is
the likelier mistake. A suspect test is reported as such (with the value the consensus
computed), never dropped silently, and left out of the pass rate the search's reward uses.

A test on which the winning cluster raises is suspect too, when no candidate at all passes it.
Measured on 16 HumanEval solves that ran the tree search to the token budget: every such test
was malformed, not a bug the samples shared: the wrong argument type (`prime_length(1)` for a
string, `filter_integers(10)` for a list), an unquoted string (`flip_case(Hello)`: a NameError
in the test's own call), a misplaced parenthesis. Trusted, they kept 8 of those 16 searching for
a minute after independent answers already agreed. A candidate that passes such a test keeps it
judged: a bug all the samples share is still searched for as soon as one program shows it can
be avoided.

The problem's own examples (its docstring's, `stated`) come before any vote, as AlphaCode
filters its samples on a problem's example tests: a cluster passing more of them ranks first,
and one is suspect only when no candidate passes it. Without this a two-member consensus on a
misreading outvoted a single correct answer that passed the docstring's example (HumanEval/26:
"remove all elements that occur more than once" read as "remove duplicates").
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from o1coder.sandbox.child.plain import PlainError, decode, loads
from o1coder.sandbox.types import TestOutcome, TestStatus, VerificationReport

if TYPE_CHECKING:
    from o1coder.engine.steps import Candidate

MIN_INDEPENDENT = 2  # members with different code a consensus needs before it can overrule a test
MAX_SHOWN = 200


@dataclass(frozen=True)
class Cluster:
    members: tuple[int, ...]  # indices into the candidates, best-ranked first
    passed: frozenset[str]  # names of the tests every member passes
    independent: int  # members with different code
    outputs: dict[str, str] = field(hash=False, compare=False)  # test name -> canonical output

    @property
    def score(self) -> int:
        return len(self.members) * len(self.passed)


@dataclass
class Agreement:
    clusters: list[Cluster]  # best first
    suspect: dict[str, str]  # test name -> the value the consensus computed, as Python shows it

    @property
    def winner(self) -> Cluster | None:
        return self.clusters[0] if self.clusters else None

    @property
    def consensus(self) -> bool:
        """The best cluster has at least two independent members."""
        return self.winner is not None and self.winner.independent >= MIN_INDEPENDENT


def signature(report: VerificationReport) -> tuple[str, ...]:
    """What a candidate did on each test: its output, or its status where nothing came back."""
    return tuple(o.output or f"status:{o.status.value}" for o in report.outcomes)


def code_identity(code: str) -> str:
    """What makes two programs the same program: their syntax tree (comments and layout ignored)."""
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return " ".join(code.split())


def agree(candidates: Sequence[Candidate], stated: frozenset[str] = frozenset()) -> Agreement:
    """Cluster `candidates` (all verified against the same tests, in the same order) by behaviour;
    `stated` names the tests that are the problem's own examples."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, candidate in enumerate(candidates):
        report = candidate.report
        if not report.compiled or not report.outcomes:
            continue  # a program that did not load has no behaviour to agree on
        groups.setdefault(signature(report), []).append(index)
    clusters = []
    for members in groups.values():
        members.sort(key=lambda i: candidates[i].rank, reverse=True)
        first = candidates[members[0]].report
        passed = frozenset(o.name for o in first.outcomes if o.status is TestStatus.PASSED)
        identities = {code_identity(candidates[i].code) for i in members}
        outputs = {o.name: o.output for o in first.outcomes if o.output}
        clusters.append(Cluster(tuple(members), passed, len(identities), outputs))
    clusters.sort(
        key=lambda c: (len(c.passed & stated), c.score, len(c.passed), len(c.members), candidates[c.members[0]].rank),
        reverse=True,
    )
    suspect: dict[str, str] = {}
    if clusters and clusters[0].independent >= MIN_INDEPENDENT:
        winner = candidates[clusters[0].members[0]].report
        passed_by_some = frozenset().union(*(c.passed for c in clusters))
        met = passed_by_some & stated
        for outcome in winner.outcomes:
            if outcome.name in met:
                continue  # a docstring example some candidate meets: it decides, no vote overrules it
            if not outcome.output or outcome.status is TestStatus.PASSED:
                continue  # agreement, or nothing came back
            if raised(outcome.output):
                if outcome.name not in passed_by_some:  # no program shows the exception can be avoided
                    suspect[outcome.name] = shown(outcome.output)
            elif outcome.status is TestStatus.FAILED:
                suspect[outcome.name] = shown(outcome.output)
    return Agreement(clusters, suspect)


def raised(output: str) -> bool:
    """Whether a canonical output records an exception (`["raised", type name]`, see `o1coder.sandbox.run`)."""
    return output.startswith('["raised"')


def shown(output: str) -> str:
    """A canonical output as Python would print the value; an exception as "raising TypeError"."""
    if raised(output):
        try:
            kind = loads(output)[1]
        except (PlainError, RecursionError, MemoryError, ValueError, IndexError, TypeError):
            kind = None
        return f"raising {kind}" if isinstance(kind, str) and kind else "raising an exception"
    try:
        text = repr(decode(loads(output)))
    except (PlainError, RecursionError, MemoryError, ValueError):
        text = output
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def with_suspects(report: VerificationReport, suspect: dict[str, str], agreeing: int) -> VerificationReport:
    """`report` with the suspect tests marked `suspect`, whatever this candidate did on them:
    they count for no candidate's pass rate (see VerificationReport.pass_rate)."""
    if not suspect:
        return report
    outcomes = []
    for outcome in report.outcomes:
        if outcome.name in suspect and outcome.status is not TestStatus.SUSPECT:
            here = f"this candidate: {outcome.message}" if outcome.message else f"this candidate: {outcome.status.value}"
            message = (
                f"{agreeing} different candidates agree on {suspect[outcome.name]}, "
                f"not on the test's expected value ({here})"
            )
            outcome = dataclasses.replace(outcome, status=TestStatus.SUSPECT, message=message)
        outcomes.append(outcome)
    return dataclasses.replace(report, outcomes=outcomes)


def is_suspect(outcome: TestOutcome) -> bool:
    return outcome.status is TestStatus.SUSPECT

"""Run a mined reference in the sandbox: keep the doctests it passes, derive tests, judge them.

Each sandbox run is one process pair for all of its tests:

1. the reference on its doctest tests and its first few candidate inputs (`probe`: the
   call's value comes back as plain data); when they all raise and the candidate has
   fallback inputs (probes from the mixed pool), those are tried instead; when most time
   out the problem is dropped there, else the other inputs follow in a second run, and
   when only a few inputs gave values, variations of those in a third;
2. the doctests it passed and the inputs that gave a value, again, in the reverse order: a
   doctest must pass both times, and an input counts only if its value was the same both
   times (no clock, randomness or leftover state);
3. the reference's AST mutants on the kept doctests and the first usable inputs (`kills`,
   two runs, with a timeout scaled to the reference's slowest call);
4. the chosen tests exactly as they will be written, on the reference put together with the
   statement as every training stage does it (`assemble_program`); a test failing there is
   dropped.

Derived tests are `assert f(<input>) == <the reference's value>` for inputs whose value is
plain data with a literal form (not None); a function that returns iterators (generators,
`map`, itertools objects) is tested as `assert list(f(<input>)) == [...]`, one that returns
None and changes its arguments by what they hold afterwards (`probe`). They are chosen
greedily: first those that kill mutants the chosen ones do not, then those with values not
yet seen, up to the test limit. The problem is kept when it has at least the minimum number
of tests (and, when all of them are derived, more than one value among them: a constant
would pass them); its mutant-kill rate (mutants failing at least one kept test, over all
mutants) goes into its record.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from o1coder.config import SandboxSettings
from o1coder.engine.problem import FLOAT_TOLERANCE, Problem, ProblemError, assemble_program
from o1coder.sandbox import TestCase, TestOutcome, TestStatus, run_tests
from o1coder_train.data.inputs import Call, variations_of
from o1coder_train.data.kills import Key, Kills, Probed, kill_matrix
from o1coder_train.data.mine import Candidate
from o1coder_train.data.probe import (
    ARGS,
    HELPERS,
    LISTED,
    USABLE,
    VALUE,
    mode_of,
    mutable_args,
    probe,
    verdict,
)
from o1coder_train.data.records import ProblemRecord

CHECK_VERSION = 6  # part of every cached result's key: bump when what `check` does changes
DOCTEST_KIND, DERIVED_KIND = "doctest", "derived"
PILOT = 8  # inputs in the first run; when half of them time out, the rest are not tried
MAX_KILL_INPUTS = 24  # inputs the mutants run on (each looping mutant costs a timeout per input)


@dataclass(frozen=True)
class DeriveSettings:
    min_tests: int = 5
    max_tests: int = 10
    max_mutants: int = 8
    min_kill_rate: float = 0.0  # keep only problems whose tests kill more than this fraction of mutants
    seed: int = 0
    timeout_seconds: float = 1.0  # per call of the reference
    memory_mb: int = 1024

    def mutant_timeout(self, slowest: float) -> float:
        """Per call of a mutant: 20 times the reference's slowest call, within 0.1 s and half of
        the reference's limit (a mutant that slow counts as killed; loops end soon)."""
        return min(self.timeout_seconds / 2, max(0.1, 20 * slowest))

    def sandbox(self, timeout: float | None = None) -> SandboxSettings:
        seconds = timeout or self.timeout_seconds
        return SandboxSettings(timeout_seconds=seconds, cpu_seconds=max(2, int(4 * seconds)), memory_mb=self.memory_mb)


@dataclass
class Checked:
    """What running a candidate gave: a record, or the reason there is none; counts either way."""

    id: str
    source: str
    record: ProblemRecord | None = None
    reason: str = ""
    inputs: dict[str, int] = field(default_factory=dict)  # what the candidate inputs gave, by outcome

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "record": self.record.to_dict() if self.record else None,
            "reason": self.reason,
            "inputs": self.inputs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checked:
        record = ProblemRecord.from_dict(data["record"]) if data.get("record") else None
        return cls(data["id"], data["source"], record, data.get("reason", ""), dict(data.get("inputs") or {}))


@dataclass(frozen=True)
class _Value:
    call: Call
    expected: object
    output: str  # the canonical plain-data text, to compare with mutants' outputs


def check(cand: Candidate, settings: DeriveSettings) -> Checked:
    sandbox = settings.sandbox()
    calls = list({c.key: c for c in cand.calls}.values())
    doctests = [TestCase(f"doctest_{i}", src) for i, src in enumerate(cand.doctests)]

    def probes(mode: str, start: int, stop: int | None = None) -> list[TestCase]:
        return [probe(f"call_{i}", c, mode, None) for i, c in enumerate(calls[start:stop], start=start)]

    first = run_tests(cand.program, doctests + probes(VALUE, 0, PILOT), sandbox)
    if not first.compiled:
        return Checked(cand.id, cand.source, reason="does not run on its own")
    if cand.fallback and _all_raise(first.outcomes[len(doctests) :]):  # the guessed kinds were wrong
        calls = list({c.key: c for c in cand.fallback}.values())
        first = run_tests(cand.program, doctests + probes(VALUE, 0, PILOT), sandbox)
    mode = mode_of(calls[:PILOT], first.outcomes[len(doctests) :])
    program = cand.program + HELPERS[mode]
    if mode != VALUE:  # iterators are tested as the lists they give, in-place functions by their arguments
        first = run_tests(program, doctests + probes(mode, 0, PILOT), sandbox)
    outcomes = {o.name: o for o in first.outcomes}
    pilot = first.outcomes[len(doctests) :]
    if pilot and 2 * sum(o.status is TestStatus.TIMEOUT for o in pilot) >= len(pilot):
        return Checked(cand.id, cand.source, reason="too few tests: inputs time out", inputs={"time out": len(pilot)})
    if len(calls) > PILOT:
        outcomes |= {o.name: o for o in run_tests(program, probes(mode, PILOT), sandbox).outcomes}

    def usable(i: int, again: str | None = None) -> tuple[str, object]:
        return verdict(outcomes[f"call_{i}"].output, again, calls[i], mode)

    accepted = [c for i, c in enumerate(calls) if usable(i)[0] == USABLE]
    if 0 < len(accepted) < settings.max_tests:  # few inputs worked: try more like those
        more = variations_of(accepted, len(calls), settings.seed)
        known = {c.key for c in calls}
        start = len(calls)
        calls += [c for c in more if c.key not in known]
        outcomes |= {o.name: o for o in run_tests(program, probes(mode, start), sandbox).outcomes}

    again_cases = [t for t in doctests if outcomes[t.name].passed]
    again_cases += [t for i, t in enumerate(probes(mode, 0)) if usable(i)[0] == USABLE]
    again = {o.name: o for o in run_tests(program, again_cases[::-1], sandbox).outcomes} if again_cases else {}
    kept_doctests = [t.source for t in doctests if t.name in again and again[t.name].passed]
    if cand.doctests and not kept_doctests:
        why = _failure([outcomes[t.name] for t in doctests])
        return Checked(cand.id, cand.source, reason=f"fails its doctest examples ({why})")
    counts: Counter[str] = Counter()
    values: list[_Value] = []
    for i, call in enumerate(calls):
        seen_again = again.get(f"call_{i}")
        what, value = usable(i, seen_again.output if seen_again else None)
        counts[what] += 1
        if what == USABLE:
            values.append(_Value(call, value, outcomes[f"call_{i}"].output))
    kept_doctests = kept_doctests[: settings.max_tests]
    slowest = max([o.seconds for o in first.outcomes if o.passed or o.output] or [0.0])
    kills = kill_matrix(
        cand.program,
        cand.function,
        cand.function_source,
        kept_doctests,
        [Probed(v.call, v.output) for v in values[:MAX_KILL_INPUTS]],
        mode,
        settings.sandbox(settings.mutant_timeout(slowest)),
        settings.max_mutants,
        settings.seed,
    )
    return _record(cand, settings, kept_doctests, values, kills, mode, counts)


def _record(
    cand: Candidate,
    settings: DeriveSettings,
    doctests: list[str],
    values: list[_Value],
    kills: Kills,
    mode: str,
    counts: Counter[str],
) -> Checked:
    """The problem's record from the chosen tests that pass as written, or why there is none."""
    chosen = _choose(values, kills, [("doctest", i) for i in range(len(doctests))], settings.max_tests - len(doctests))
    tests: list[tuple[Key, str, str]] = [(("doctest", i), src, DOCTEST_KIND) for i, src in enumerate(doctests)]
    tests += [(("call", i), _assert(values[i], mode), DERIVED_KIND) for i in chosen]
    try:  # as every training stage will run it: the statement's context, then the solution
        program = assemble_program(Problem.from_source(cand.text), cand.program)
    except ProblemError:
        return Checked(cand.id, cand.source, reason="statement does not parse as a problem", inputs=dict(+counts))
    final = run_tests(program, [TestCase(f"test_{j}", t[1]) for j, t in enumerate(tests)], settings.sandbox())
    kept = [t for t, o in zip(tests, final.outcomes, strict=True) if o.passed] if final.compiled else []
    if len(kept) < len(tests):
        counts["fail as written"] += len(tests) - len(kept)
    inputs = dict(+counts)
    if len(kept) < settings.min_tests:
        return Checked(cand.id, cand.source, reason=_too_few(counts), inputs=inputs)
    if all(key[0] == "call" for key, _, _ in kept) and len({values[key[1]].output for key, _, _ in kept}) < 2:
        return Checked(cand.id, cand.source, reason="too few tests: every input gives the same value", inputs=inputs)
    killed = kills.of([key for key, _, _ in kept])
    rate = len(killed) / kills.mutants if kills.mutants else 0.0
    if kills.mutants and rate <= settings.min_kill_rate:
        return Checked(cand.id, cand.source, reason="its tests kill too few mutants", inputs=inputs)
    record = ProblemRecord(
        id=cand.id,
        source=cand.source,
        text=cand.text,
        solutions=[cand.program],
        tests=[src for _, src, _ in kept],
        entry_point=cand.function,
        meta={
            "module": cand.module,
            "mutants": kills.mutants,
            "mutants_killed": len(killed),
            "mutant_kill_rate": round(rate, 4),
        },
        test_kinds=[kind for _, _, kind in kept],
    )
    return Checked(cand.id, cand.source, record=record, inputs=inputs)


def _failure(outcomes: list[TestOutcome]) -> str:
    """What most failing tests died of: an exception's name, a wrong value, a timeout."""
    kinds = Counter(
        "wrong value" if o.status is TestStatus.FAILED
        else "timeout" if o.status is TestStatus.TIMEOUT
        else (match.group(1) if (match := _EXCEPTION.search(o.message)) else "error")
        for o in outcomes
        if not o.passed
    )
    return kinds.most_common(1)[0][0] if kinds else "unstable"


_EXCEPTION = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Sendable|Violation))\b")


def _all_raise(outcomes: list[TestOutcome]) -> bool:
    return bool(outcomes) and all(verdict(o.output)[0] == "raise" for o in outcomes)


def _too_few(counts: Counter[str]) -> str:
    failing = Counter({k: v for k, v in counts.items() if k != USABLE and v})
    if not failing:
        return "too few tests: too few distinct inputs"
    return f"too few tests: inputs {failing.most_common(1)[0][0]}"


def _assert(value: _Value, mode: str) -> str:
    """The derived test of one input, as it will be written."""
    if mode == ARGS:
        return _arguments_test(value)
    call = f"list({value.call.expr})" if mode == LISTED else value.call.expr
    if isinstance(value.expected, float):
        check = f"assert abs({call} - ({value.expected!r})) < {FLOAT_TOLERANCE}"
    else:
        check = f"assert {call} == {value.expected!r}"
    return "\n".join([*value.call.imports, check])


def _arguments_test(value: _Value) -> str:
    """`a0 = [3, 1]; f(a0, 2); assert a0 == [...]` for each container argument of the call."""
    node = ast.parse(value.call.expr, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(value.expected, list)
    lines = [*value.call.imports]
    checks = []
    for i in mutable_args(value.call):
        lines.append(f"a{i} = {ast.unparse(node.args[i])}")
        node.args[i] = ast.Name(f"a{i}", ast.Load())
        checks.append(f"assert a{i} == {value.expected[i]!r}")
    body = "\n".join([*lines, ast.unparse(node), *checks])
    return "def test_derived():\n" + textwrap.indent(body, "    ") + "\n"


def _choose(values: list[_Value], kills: Kills, given: list[Key], room: int) -> list[int]:
    """Indices of derived tests: new kills first, then values not seen yet, then the rest."""
    chosen: list[int] = []
    seen_outputs: set[str] = set()
    left = list(range(len(values)))
    killed = kills.of(given)
    while left and len(chosen) < room:
        best = max(
            left,
            key=lambda i: (len(kills.of([("call", i)]) - killed), values[i].output not in seen_outputs, -i),
        )
        left.remove(best)
        chosen.append(best)
        killed |= kills.of([("call", best)])
        seen_outputs.add(values[best].output)
    return sorted(chosen)

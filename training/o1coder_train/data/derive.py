"""Run a mined reference in the sandbox: keep the doctests it passes, derive tests, judge them.

Each sandbox run is one process pair for all of its tests:

1. the reference on its doctest tests and its first few candidate inputs (`probe`: the
   call's value comes back as plain data); when most of those inputs time out the problem is
   dropped there, else the other inputs follow in a second run;
2. the doctests it passed and the inputs that gave a value, again, in the reverse order: a
   doctest must pass both times, and an input counts only if its value was the same both
   times (no clock, randomness or leftover state);
3. the reference's AST mutants on the kept doctests and inputs (`kills`, two runs);
4. the chosen tests exactly as they will be written, on the reference (one failing in its
   final form is dropped).

Derived tests are `assert f(<input>) == <the reference's value>` for inputs whose value is
plain data with a literal form (not None); a function that returns iterators (generators,
`map`, itertools objects) is tested as `assert list(f(<input>)) == [...]`. They are chosen
greedily: first those that kill mutants the chosen ones do not, then those with values not
yet seen, up to the test limit. The problem is kept when it has at least the minimum number
of tests (and, when all of them are derived, more than one value among them: a constant
would pass them); its mutant-kill rate (mutants failing at least one kept test, over all
mutants) goes into its record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from o1coder.config import SandboxSettings
from o1coder.engine.problem import FLOAT_TOLERANCE
from o1coder.sandbox import TestCase, TestStatus, run_tests
from o1coder_train.data.inputs import Call
from o1coder_train.data.kills import Key, Kills, Probed, kill_matrix
from o1coder_train.data.mine import Candidate
from o1coder_train.data.probe import LIST_HELPER, USABLE, probe, returns_iterators, verdict
from o1coder_train.data.records import ProblemRecord

CHECK_VERSION = 2  # part of every cached result's key: bump when what `check` does changes
DOCTEST_KIND, DERIVED_KIND = "doctest", "derived"
PILOT = 8  # inputs in the first run; when half of them time out, the rest are not tried


@dataclass(frozen=True)
class DeriveSettings:
    min_tests: int = 5
    max_tests: int = 10
    max_mutants: int = 8
    min_kill_rate: float = 0.0  # keep only problems whose tests kill more than this fraction of mutants
    seed: int = 0
    timeout_seconds: float = 1.0  # per call of the reference; mutants get half
    memory_mb: int = 1024

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

    def probes(listed: bool, start: int, stop: int | None = None) -> list[TestCase]:
        return [probe(f"call_{i}", c, listed) for i, c in enumerate(calls[start:stop], start=start)]

    first = run_tests(cand.program, doctests + probes(False, 0, PILOT), sandbox)
    if not first.compiled:
        return Checked(cand.id, cand.source, reason="does not run on its own")
    listed = returns_iterators(first.outcomes[len(doctests) :])
    program = cand.program + LIST_HELPER if listed else cand.program
    if listed:  # values of iterators are the lists they give, as in `list(f(x))`
        first = run_tests(program, doctests + probes(True, 0, PILOT), sandbox)
    outcomes = {o.name: o for o in first.outcomes}
    pilot = first.outcomes[len(doctests) :]
    if pilot and 2 * sum(o.status is TestStatus.TIMEOUT for o in pilot) >= len(pilot):
        return Checked(cand.id, cand.source, reason="too few tests: inputs time out", inputs={"time out": len(pilot)})
    if len(calls) > PILOT:
        outcomes |= {o.name: o for o in run_tests(program, probes(listed, PILOT), sandbox).outcomes}

    again_cases = [t for t in doctests if outcomes[t.name].passed]
    again_cases += [t for t in probes(listed, 0) if verdict(outcomes[t.name].output)[0] == USABLE]
    again = {o.name: o for o in run_tests(program, again_cases[::-1], sandbox).outcomes} if again_cases else {}
    kept_doctests = [t.source for t in doctests if t.name in again and again[t.name].passed]
    if cand.doctests and not kept_doctests:
        return Checked(cand.id, cand.source, reason="fails its doctest examples")
    counts: Counter[str] = Counter()
    values: list[_Value] = []
    for i, call in enumerate(calls):
        name = f"call_{i}"
        seen_again = again.get(name)
        what, value = verdict(outcomes[name].output, seen_again.output if seen_again else None)
        counts[what] += 1
        if what == USABLE:
            values.append(_Value(call, value, outcomes[name].output))
    kept_doctests = kept_doctests[: settings.max_tests]
    kills = kill_matrix(
        cand.program,
        cand.function,
        cand.function_source,
        kept_doctests,
        [Probed(v.call, v.output) for v in values],
        listed,
        settings.sandbox(settings.timeout_seconds / 2),
        settings.max_mutants,
        settings.seed,
    )
    return _record(cand, settings, kept_doctests, values, kills, listed, counts)


def _record(
    cand: Candidate,
    settings: DeriveSettings,
    doctests: list[str],
    values: list[_Value],
    kills: Kills,
    listed: bool,
    counts: Counter[str],
) -> Checked:
    """The problem's record from the chosen tests that pass as written, or why there is none."""
    chosen = _choose(values, kills, [("doctest", i) for i in range(len(doctests))], settings.max_tests - len(doctests))
    tests: list[tuple[Key, str, str]] = [(("doctest", i), src, DOCTEST_KIND) for i, src in enumerate(doctests)]
    tests += [(("call", i), _assert(values[i], listed), DERIVED_KIND) for i in chosen]
    final = run_tests(cand.program, [TestCase(f"test_{j}", t[1]) for j, t in enumerate(tests)], settings.sandbox())
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


def _too_few(counts: Counter[str]) -> str:
    failing = Counter({k: v for k, v in counts.items() if k != USABLE and v})
    if not failing:
        return "too few tests: too few distinct inputs"
    return f"too few tests: inputs {failing.most_common(1)[0][0]}"


def _assert(value: _Value, listed: bool) -> str:
    call = f"list({value.call.expr})" if listed else value.call.expr
    if isinstance(value.expected, float):
        check = f"assert abs({call} - ({value.expected!r})) < {FLOAT_TOLERANCE}"
    else:
        check = f"assert {call} == {value.expected!r}"
    return "\n".join([*value.call.imports, check])


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

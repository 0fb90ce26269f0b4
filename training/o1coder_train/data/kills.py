"""Which of a reference's AST mutants each test kills, in two sandbox runs.

The mutants (`o1coder_train.mutants`, of the function's own source) are renamed
(`f__mutant3`, recursive calls following) and defined side by side after the reference, so
one program holds them all. A doctest kills a mutant when it does not pass on it (renamed
to call the mutant); an input kills a mutant when the mutant's value differs from the
reference's. Mutants that loop forever would cost a timeout per test, so a first run tries
each mutant on one test only; those that time out there count as killed by it and are left
out of the second run, which tries the rest on every test.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from o1coder.config import SandboxSettings
from o1coder.sandbox import TestCase, TestOutcome, TestStatus, run_tests
from o1coder_train.data.inputs import Call
from o1coder_train.data.probe import HELPERS, probe
from o1coder_train.mutants import mutants

MUTANT_SUFFIX = "__mutant"
Key = tuple[str, int]  # ("doctest", i) or ("call", i)


@dataclass(frozen=True)
class Probed:
    """An input whose value the reference gave: the call and that value's plain-data text."""

    call: Call
    output: str


@dataclass
class Kills:
    by_test: dict[Key, set[int]]  # mutants each test kills
    mutants: int

    def of(self, keys: Sequence[Key]) -> set[int]:
        return set().union(*(self.by_test.get(k, set()) for k in keys))


def kill_matrix(
    program: str,
    function: str,
    function_source: str,
    doctests: Sequence[str],
    probed: Sequence[Probed],
    mode: str,
    sandbox: SandboxSettings,
    limit: int,
    seed: int = 0,
) -> Kills:
    renamed = [_rename_def(m, function, _name(function, k)) for k, m in enumerate(mutants(function_source, limit, seed))]
    defs = [m for m in renamed if m is not None]
    kills = Kills({}, len(defs))
    keys: list[Key] = [("doctest", i) for i in range(len(doctests))] + [("call", i) for i in range(len(probed))]
    if not defs or not keys:
        return kills
    whole = "\n\n\n".join([program.rstrip(), *(d.rstrip() for d in defs)]) + "\n" + HELPERS[mode]

    def case(k: int, key: Key) -> TestCase:
        name = _name(function, k)
        if key[0] == "doctest":
            return TestCase(f"m{k}_{key[0]}_{key[1]}", _rename_calls(doctests[key[1]], function, name))
        value = probed[key[1]]
        return probe(f"m{k}_call_{key[1]}", value.call, mode, value.call.renamed(function, name))

    def record(k: int, key: Key, outcome: TestOutcome) -> None:
        killed = not outcome.passed if key[0] == "doctest" else outcome.output != probed[key[1]].output
        if killed:
            kills.by_test.setdefault(key, set()).add(k)

    first = [(k, keys[0]) for k in range(len(defs))]
    report = run_tests(whole, [case(k, key) for k, key in first], sandbox)
    if not report.compiled:
        return kills
    looping = set()
    for (k, key), outcome in zip(first, report.outcomes, strict=True):
        record(k, key, outcome)
        if outcome.status is TestStatus.TIMEOUT:
            looping.add(k)
    rest = [(k, key) for k in range(len(defs)) if k not in looping for key in keys[1:]]
    if rest:
        report = run_tests(whole, [case(k, key) for k, key in rest], sandbox)
        for (k, key), outcome in zip(rest, report.outcomes if report.compiled else [], strict=False):
            record(k, key, outcome)
    return kills


def _name(function: str, k: int) -> str:
    return f"{function}{MUTANT_SUFFIX}{k}"


def _rename_def(source: str, old: str, new: str) -> str | None:
    """The mutant's definition of `old`, named `new`, its recursive calls following it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    defs = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == old]
    if not defs:
        return None
    fn = defs[-1]
    fn.name = new
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new
    return ast.unparse(fn) + "\n"


def _rename_calls(source: str, old: str, new: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new
    return ast.unparse(tree) + "\n"

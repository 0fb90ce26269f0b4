"""What `data build` says about each source in data/build.json.

Per source: how many problems it offered (`mined`: documented functions found, or rows
loaded), how many were kept, why the others were not (`failed`, by reason), tests per kept
problem (mean / min, and by kind: the docstring's own examples vs derived ones), and the
mean mutant-kill rate of the kept problems' test sets (the fraction of the reference's AST
mutants that fail at least one test; problems whose reference has no mutant are left out of
the mean and counted). What the candidate inputs of mined problems gave is summed under
`inputs`. Self-generated problems (`self-generated`) count as mined the seeds the model was
asked about. With `[data].difficulty_sample`, `difficulty` is the model's greedy pass rate on a
sample of the kept problems and the histogram of fractions of tests passed (`difficulty`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from o1coder_train.data.records import ProblemRecord


@dataclass
class SourceReport:
    mined: int = 0
    kept: list[ProblemRecord] = field(default_factory=list)
    failed: Counter = field(default_factory=Counter)
    inputs: Counter = field(default_factory=Counter)
    unchecked: int = 0  # candidates left unchecked once the problem limit was reached
    difficulty: dict[str, Any] | None = None  # the model's greedy pass rate on a sample (`difficulty`)

    def fail(self, reason: str) -> None:
        self.failed[reason] += 1

    def to_dict(self) -> dict[str, Any]:
        tests = [len(r.tests) for r in self.kept]
        kinds: Counter = Counter(k for r in self.kept for k in r.test_kinds)
        rates = [r.meta["mutant_kill_rate"] for r in self.kept if r.meta.get("mutants")]
        out: dict[str, Any] = {
            "mined": self.mined,
            "kept": len(self.kept),
            "failed": dict(self.failed.most_common()),
            "tests_per_problem": {
                "mean": round(mean(tests), 2) if tests else 0.0,
                "min": min(tests) if tests else 0,
            },
            "mutant_kill_rate": {
                "mean": round(mean(rates), 4) if rates else None,
                "problems_with_mutants": len(rates),
                "problems_without_mutants": len(self.kept) - len(rates),
            },
        }
        if kinds:
            out["tests_by_kind"] = dict(kinds)
        if self.inputs:
            out["inputs"] = dict(self.inputs.most_common())
        if self.unchecked:
            out["unchecked"] = self.unchecked
        if self.difficulty is not None:
            out["difficulty"] = self.difficulty
        return out

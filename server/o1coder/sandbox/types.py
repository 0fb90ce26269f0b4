"""Data types of sandboxed verification (shared by the engine, CLI, server and training)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class TestStatus(StrEnum):
    __test__ = False  # not a pytest test class (nor are the two below)

    PASSED = "passed"
    FAILED = "failed"  # an assertion failed
    ERROR = "error"  # any other exception, or the candidate code did not load
    TIMEOUT = "timeout"
    # set by the engine, not the sandbox: the test's expected value contradicts what several
    # independent candidates agree on (o1coder.engine.agreement); counts for no pass rate
    SUSPECT = "suspect"


@dataclass(frozen=True)
class TestCase:
    """One test: `source` is either one `assert ...` statement or a whole `def test_*(): ...`."""

    __test__ = False

    name: str
    source: str


@dataclass
class TestOutcome:
    __test__ = False

    name: str
    status: TestStatus
    message: str = ""  # short: the assertion or exception text
    seconds: float = 0.0
    # what the candidate's code returned in this test, as canonical plain-data text (see
    # o1coder.sandbox.child.plain): equal texts mean equal values; "" when nothing came back
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.status is TestStatus.PASSED


@dataclass
class VerificationReport:
    compiled: bool  # the candidate code parsed and its top level ran without error
    outcomes: list[TestOutcome] = field(default_factory=list)
    isolation: str = ""  # which isolation was active, e.g. "user+net namespaces, rlimits, seccomp-free socket block"
    error: str = ""  # why the run failed as a whole (candidate did not load, harness tampered, ...)
    output: str = ""  # what the candidate printed (stdout and stderr), at most max_output_bytes of it
    output_truncated: bool = False  # more was printed than max_output_bytes; the rest was discarded
    # what the verdicts rest on where it is not obvious: a value that was not plain data,
    # lines on the result channel that were not answers
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def suspect(self) -> int:
        return sum(o.status is TestStatus.SUSPECT for o in self.outcomes)

    @property
    def judged(self) -> int:
        """Tests that count: all but the suspect ones."""
        return self.total - self.suspect

    @property
    def pass_rate(self) -> float:
        """Passed over judged tests (suspect ones left out); 0.0 with none."""
        return self.passed / self.judged if self.judged else 0.0

    def reward(self, compile_weight: float) -> float:
        """O1-CODER terminal reward: a*compile + (1-a)*pass_rate."""
        return compile_weight * float(self.compiled) + (1.0 - compile_weight) * self.pass_rate

    def to_dict(self) -> dict:
        d = asdict(self)
        for o in d["outcomes"]:
            o["status"] = o["status"].value if isinstance(o["status"], TestStatus) else o["status"]
        d.update(passed=self.passed, total=self.total, suspect=self.suspect)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> VerificationReport:
        """The report `to_dict` wrote (its derived counts are recomputed, not read)."""
        outcomes = [
            TestOutcome(
                name=o["name"],
                status=TestStatus(o["status"]),
                message=o.get("message", ""),
                seconds=o.get("seconds", 0.0),
                output=o.get("output", ""),
            )
            for o in d.get("outcomes", [])
        ]
        return cls(
            compiled=d["compiled"],
            outcomes=outcomes,
            isolation=d.get("isolation", ""),
            error=d.get("error", ""),
            output=d.get("output", ""),
            output_truncated=d.get("output_truncated", False),
            notes=list(d.get("notes", [])),
        )

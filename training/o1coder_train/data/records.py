"""The one normalised problem record every loader produces and every stage reads.

`text` is exactly what `o1coder.engine.problem.Problem.from_source` parses: a HumanEval-style
function prompt (signature + docstring) or a task in words (then the function is named
`solution`, as the engine asks for it). `solutions` are complete programs defining the
function; `tests` are test sources in the engine's format (one `assert ...` or one
`def test_*(): ...` each) that call the function. `test_kinds` says where each test came from
when a source mixes origins (mined problems: "doctest" for the docstring's own examples,
"derived" for inputs the build made up, with the reference's values); empty when every test
is the source's own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from o1coder.engine.problem import Problem
from o1coder.sandbox.types import TestCase


@dataclass
class ProblemRecord:
    id: str  # "<source>/<original id>"
    source: str  # taco | apps | mbpp | codecontests | jsonl | doctest | humaneval
    text: str
    solutions: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    entry_point: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    test_kinds: list[str] = field(default_factory=list)  # parallel to `tests`, or empty

    def problem(self) -> Problem:
        return Problem.from_source(self.text)

    def test_cases(self) -> list[TestCase]:
        return [TestCase(name=f"test_{i + 1}", source=src) for i, src in enumerate(self.tests)]

    @property
    def function_name(self) -> str:
        return self.problem().function_name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProblemRecord:
        missing = [k for k in ("id", "source", "text") if k not in data]
        if missing:
            raise ValueError(f"problem record lacks {', '.join(missing)}: {json.dumps(data)[:200]}")
        kinds = [str(k) for k in data.get("test_kinds") or []]
        if kinds and len(kinds) != len(data.get("tests") or []):
            raise ValueError(f"problem record {data['id']}: test_kinds must name one kind per test, or be empty")
        return cls(
            id=str(data["id"]),
            source=str(data["source"]),
            text=str(data["text"]),
            solutions=[str(s) for s in data.get("solutions") or []],
            tests=[str(t) for t in data.get("tests") or []],
            entry_point=data.get("entry_point"),
            meta=dict(data.get("meta") or {}),
            test_kinds=kinds,
        )

    def keep_tests(self, kept: list[int]) -> ProblemRecord:
        """This record with only the tests at the indices `kept` (their kinds kept in step)."""
        kinds = [self.test_kinds[i] for i in kept] if self.test_kinds else []
        return replace(self, tests=[self.tests[i] for i in kept], test_kinds=kinds)


def stable_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def write_records(path: Path, records: Iterable[ProblemRecord]) -> int:
    from o1coder_train.run import write_jsonl

    return write_jsonl(path, (r.to_dict() for r in records))


def read_records(path: Path) -> list[ProblemRecord]:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: run `o1coder-train data build --config run.toml` first"
        )
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(ProblemRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"{path}:{n}: not a problem record ({exc})") from None
    return out

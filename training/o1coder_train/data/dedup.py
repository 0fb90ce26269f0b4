"""Keep evaluation problems out of training data (and drop duplicates within it).

A training problem leaks an evaluation problem when their statements share most word 5-grams
(Jaccard similarity at or above the threshold, or one statement contained in the other), or
when they define the same function name with the same reference solution. Identifiers are
split into words (`has_close_elements` -> has close elements) so renaming does not hide a copy.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from o1coder_train.data.records import ProblemRecord

SHINGLE = 5
CONTAINMENT = 0.8
MIN_SHINGLES_FOR_CONTAINMENT = 8
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ")
    return _WORD.findall(spaced.lower())


def shingles(text: str, n: int = SHINGLE) -> set[tuple[str, ...]]:
    w = words(text)
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def code_key(code: str) -> str:
    """A solution's identity: its AST without docstrings, comments or formatting."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return " ".join(code.split())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree)


@dataclass
class Leak:
    train_id: str
    eval_id: str
    reason: str
    similarity: float


class EvalIndex:
    """The evaluation problems, indexed for leak checks."""

    def __init__(self, eval_records: Iterable[ProblemRecord], threshold: float = 0.6):
        self.threshold = threshold
        self.records: list[ProblemRecord] = []
        self._shingles: list[set[tuple[str, ...]]] = []
        self._inverted: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self._code: dict[str, str] = {}
        for record in eval_records:
            self.add(record)

    def add(self, record: ProblemRecord) -> None:
        i = len(self.records)
        self.records.append(record)
        sh = shingles(record.text)
        self._shingles.append(sh)
        for s in sh:
            self._inverted[s].append(i)
        for sol in record.solutions:
            self._code.setdefault(code_key(sol), record.id)

    def leak(self, record: ProblemRecord) -> Leak | None:
        mine = shingles(record.text)
        overlap: dict[int, int] = defaultdict(int)
        for s in mine:
            for i in self._inverted.get(s, ()):
                overlap[i] += 1
        for i, shared in overlap.items():
            theirs = self._shingles[i]
            jaccard = shared / len(mine | theirs)
            if jaccard >= self.threshold:
                return Leak(record.id, self.records[i].id, "statement", jaccard)
            smaller = min(len(mine), len(theirs))
            if smaller >= MIN_SHINGLES_FOR_CONTAINMENT and shared / smaller >= CONTAINMENT:
                return Leak(record.id, self.records[i].id, "statement contained", shared / smaller)
        for sol in record.solutions:
            eval_id = self._code.get(code_key(sol))
            if eval_id is not None:
                return Leak(record.id, eval_id, "same reference solution", 1.0)
        return None


class Deduper:
    """Says whether a record's statement nearly repeats one it has seen (and remembers it if not)."""

    def __init__(self, threshold: float = 0.9):
        self.index = EvalIndex([], threshold)

    def repeats(self, record: ProblemRecord) -> bool:
        if self.index.leak(record) is not None:
            return True
        self.index.add(record)
        return False

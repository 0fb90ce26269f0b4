"""Results, progress and cancellation: what the engine hands to the CLI, the server and training."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from o1coder.cancel import Cancelled as Cancelled  # re-exported: the engine's callers import it here
from o1coder.cancel import CancelToken as CancelToken
from o1coder.sandbox.types import TestCase, VerificationReport

# Pseudocode-first actions (O1-CODER section 3.2.1).
STRUCTURE = "structure"  # A1: define the algorithm's structure in pseudocode
REFINE = "refine"  # A2: refine the pseudocode
CODE = "code"  # A3: generate code from the pseudocode
REPAIR = "repair"  # rewrite failing code from its execution feedback (a code step too)
ACTIONS = (STRUCTURE, REFINE, CODE, REPAIR)
CODE_ACTIONS = (CODE, REPAIR)  # steps whose content is code


@dataclass
class Step:
    action: str  # one of ACTIONS
    text: str  # the step's content, without the engine's step header


@dataclass
class ProgressEvent:
    phase: str  # "load", "tests", "plan", "search", "verify", "done"
    nodes: int = 0
    best_value: float = 0.0
    tests_passing: int = 0
    tests_total: int = 0
    tokens_generated: int = 0
    message: str = ""
    prompt_tokens: int = 0  # prompt tokens read so far, set while a long prompt is being read (prefill)
    pulse: bool = False  # the latest event again with fresh counts, sent while a model call runs

    def counts(self) -> list[str]:
        """The event's figures as short phrases, e.g. ["12 nodes", "best 0.75", "tests 3/6", "900 tokens"]."""
        parts = []
        if self.nodes:
            parts.append(f"{self.nodes} node{'' if self.nodes == 1 else 's'}")
        if self.best_value:
            parts.append(f"best {self.best_value:.2f}")
        if self.tests_total:
            parts.append(f"tests {self.tests_passing}/{self.tests_total}")
        if self.tokens_generated:
            parts.append(f"{self.tokens_generated} tokens")
        if self.prompt_tokens:
            parts.append(f"{self.prompt_tokens} prompt tokens read")
        return parts

    def line(self) -> str:
        """One human line for a terminal status line: phase, figures, message."""
        return " | ".join([self.phase, *self.counts(), *([self.message] if self.message else [])])


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class SearchStats:
    strategy: str
    prompt_version: str
    nodes: int = 0
    tokens_generated: int = 0
    prompt_tokens_evaluated: int = 0
    unique_tree_tokens: int = 0
    judgements: int = 0
    wall_seconds: float = 0.0
    tokens_per_second: float = 0.0
    stopped_by: str = ""  # "consensus", "threshold", "tokens", "nodes", "seconds", "exhausted", "done"
    # what ended the solve: "consensus" (independent candidates agree and pass the tests that
    # are not suspect), "threshold" (a candidate passes them alone), "budget", "exhausted", "done"
    ended_by: str = ""
    candidates: int = 0  # programs verified
    clusters: int = 0  # distinct behaviours among them (execution agreement)
    suspect_tests: int = 0  # tests the answer's consensus contradicts

    @property
    def reevaluation_ratio(self) -> float:
        """(prompt evaluated + generated) / unique tree tokens; 1.0 means nothing evaluated twice."""
        done = self.prompt_tokens_evaluated + self.tokens_generated
        return done / self.unique_tree_tokens if self.unique_tree_tokens else 0.0


@dataclass
class SolveResult:
    code: str
    pseudocode: str  # the plan the code was generated from (steps joined)
    steps: list[Step]
    tests: list[TestCase]
    test_results: VerificationReport | None
    stats: SearchStats
    value: float = 0.0  # verified reward of the answer
    tree: Any = None  # the search tree (engine.tree.Node) when the strategy builds one
    chosen: Any = None  # the answer's node (in the tree, or a rollout's leaf below it), if any

    def to_json(self) -> dict[str, Any]:
        """The `o1coder solve --json` object: code, pseudocode, tests, test_results, stats."""
        stats = asdict(self.stats)
        stats["reevaluation_ratio"] = self.stats.reevaluation_ratio
        return {
            "code": self.code,
            "pseudocode": self.pseudocode,
            "steps": [asdict(s) for s in self.steps],
            "tests": [t.source for t in self.tests],
            "test_results": self.test_results.to_dict() if self.test_results else None,
            "value": self.value,
            "stats": stats,
        }


@dataclass
class Budget:
    """What a run may spend; the first exhausted stops it. Counted over every role's generation."""

    tokens: int = 3000
    nodes: int = 40
    seconds: float = 300.0
    extra: dict[str, Any] = field(default_factory=dict)

"""The server's commands: one registry of the four work commands, and the ids of the other three.

A work command runs the model on a target (Target) and edits the document. Its entry
says which kind of work it is, its title (code action, progress bar, messages), its code
action kind, the targets it runs on, and the ones the code-action menu offers it on (a
subset: on a stub that has a plan the menu offers Refine, though Plan may still run there).
code_actions, hover, the server's command registration and the work runner all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from lsprotocol import types

from o1coder.lsp.targets import Target, TaskTarget


class Kind(StrEnum):
    """What a work command computes (work.compute runs one function per kind)."""

    PLAN = "plan"
    REFINE = "refine"
    IMPLEMENT = "implement"
    TESTS = "tests"


class Shape(Enum):
    """What the cursor is on, as far as the work commands care."""

    TASK = "task"  # a comment block or a selection describing a task
    STUB = "stub"  # a function whose body is empty, pass, ... or a TODO
    PLANNED = "planned"  # a stub function holding plan comments
    BODY = "body"  # a function with a body


def shape(target: Target) -> Shape:
    if isinstance(target, TaskTarget):
        return Shape.TASK
    if not target.stub:
        return Shape.BODY
    return Shape.PLANNED if target.has_plan else Shape.STUB


@dataclass(frozen=True)
class WorkCommand:
    id: str  # the workspace/executeCommand id the editor clients call
    kind: Kind
    title: str
    action_kind: types.CodeActionKind
    runs_on: frozenset[Shape]
    offered_on: frozenset[Shape]  # the code-action menu; a subset of runs_on

    def runs(self, target: Target) -> bool:
        return shape(target) in self.runs_on

    def offered(self, target: Target) -> bool:
        return shape(target) in self.offered_on


_UNWRITTEN = frozenset({Shape.TASK, Shape.STUB, Shape.PLANNED})
_FUNCTIONS = frozenset({Shape.STUB, Shape.PLANNED, Shape.BODY})

PLAN = WorkCommand(
    "o1coder.plan",
    Kind.PLAN,
    "Plan in pseudocode",
    types.CodeActionKind.RefactorRewrite,
    runs_on=_UNWRITTEN,
    offered_on=frozenset({Shape.TASK, Shape.STUB}),
)
REFINE = WorkCommand(
    "o1coder.refine",
    Kind.REFINE,
    "Refine pseudocode",
    types.CodeActionKind.RefactorRewrite,
    runs_on=frozenset({Shape.PLANNED}),
    offered_on=frozenset({Shape.PLANNED}),
)
IMPLEMENT = WorkCommand(
    "o1coder.implement",
    Kind.IMPLEMENT,
    "Implement with search",
    types.CodeActionKind.RefactorRewrite,
    runs_on=_UNWRITTEN,
    offered_on=_UNWRITTEN,
)
TESTS = WorkCommand(
    "o1coder.generateTests",
    Kind.TESTS,
    "Generate tests",
    types.CodeActionKind.Refactor,
    runs_on=_FUNCTIONS,
    offered_on=_FUNCTIONS,
)

WORK_COMMANDS: tuple[WorkCommand, ...] = (PLAN, REFINE, IMPLEMENT, TESTS)  # in menu order
BY_ID = {command.id: command for command in WORK_COMMANDS}
ACTION_KINDS = list(dict.fromkeys(command.action_kind for command in WORK_COMMANDS))

# The other commands: they run no model work of their own.
CANCEL = "o1coder.cancel"
SHOW_MODELS = "o1coder.showModels"
SHOW_TREE = "o1coder.showTree"
RETRY = "o1coder.retry"


def offered(target: Target) -> list[WorkCommand]:
    """The work commands the code-action menu lists on `target`, in menu order."""
    return [command for command in WORK_COMMANDS if command.offered(target)]

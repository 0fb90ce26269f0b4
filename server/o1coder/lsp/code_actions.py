"""`textDocument/codeAction`: which o1coder actions apply at a position (pure, no model work).

Listing only finds the target (a local parse of one function) and builds actions whose
`data` is the work command's argument object; `codeAction/resolve` returns the action with
its `command` set, and the work happens in `workspace/executeCommand`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from o1coder.lsp import edits

CMD_PLAN = "o1coder.plan"
CMD_REFINE = "o1coder.refine"
CMD_IMPLEMENT = "o1coder.implement"
CMD_TESTS = "o1coder.generateTests"
CMD_CANCEL = "o1coder.cancel"
CMD_SHOW_MODELS = "o1coder.showModels"
CMD_RETRY = "o1coder.retry"

# command id -> (kind of work, action title, code action kind)
WORK_COMMANDS: dict[str, tuple[str, str, types.CodeActionKind]] = {
    CMD_PLAN: ("plan", "Plan in pseudocode", types.CodeActionKind.RefactorRewrite),
    CMD_REFINE: ("refine", "Refine pseudocode", types.CodeActionKind.RefactorRewrite),
    CMD_IMPLEMENT: ("implement", "Implement with search", types.CodeActionKind.RefactorRewrite),
    CMD_TESTS: ("tests", "Generate tests", types.CodeActionKind.Refactor),
}
KIND_TO_COMMAND = {kind: command for command, (kind, _title, _ak) in WORK_COMMANDS.items()}
TITLES = {kind: title for kind, title, _ak in WORK_COMMANDS.values()}
PROVIDED_KINDS = [types.CodeActionKind.RefactorRewrite, types.CodeActionKind.Refactor]


def commands_for(target: edits.Target) -> list[str]:
    """The work commands that make sense on `target`, in menu order."""
    if isinstance(target, edits.TaskTarget):
        return [CMD_PLAN, CMD_IMPLEMENT]
    if target.stub:
        first = CMD_REFINE if target.has_plan else CMD_PLAN
        return [first, CMD_IMPLEMENT, CMD_TESTS]
    return [CMD_TESTS]


def command_arguments(
    uri: str, position: types.Position, version: int | None, selection: types.Range | None = None
) -> dict[str, Any]:
    """The one argument object every work command takes."""
    args: dict[str, Any] = {"uri": uri, "position": {"line": position.line, "character": position.character}}
    if version is not None:
        args["version"] = version
    if selection is not None and selection.start != selection.end:
        args["range"] = {
            "start": {"line": selection.start.line, "character": selection.start.character},
            "end": {"line": selection.end.line, "character": selection.end.character},
        }
    return args


def kind_allowed(kind: str, only: Sequence[str] | None) -> bool:
    if not only:
        return True
    return any(kind == wanted or kind.startswith(f"{wanted}.") for wanted in only)


def list_actions(
    text: str,
    uri: str,
    version: int | None,
    selection: types.Range,
    only: Sequence[str] | None = None,
    with_command: bool = True,
) -> list[types.CodeAction]:
    """The o1coder code actions at `selection` (a cursor is an empty range)."""
    position = selection.start
    target = edits.find_target(text, position.line, position.character, selection)
    if target is None:
        return []
    args = command_arguments(uri, position, version, selection)
    actions = []
    for command in commands_for(target):
        _work, title, action_kind = WORK_COMMANDS[command]
        if not kind_allowed(action_kind.value, only):
            continue
        action = types.CodeAction(title=title, kind=action_kind, data={"command": command, "arguments": args})
        if with_command:
            action.command = to_command(command, args)
        actions.append(action)
    return actions


def to_command(command: str, args: dict[str, Any]) -> types.Command:
    return types.Command(title=WORK_COMMANDS[command][1], command=command, arguments=[args])


def resolve(action: types.CodeAction) -> types.CodeAction:
    """Set the action's command from its `data` (the work itself runs in executeCommand)."""
    data = action.data if isinstance(action.data, dict) else None
    if action.command is None and data and data.get("command") in WORK_COMMANDS:
        action.command = to_command(data["command"], data.get("arguments") or {})
    return action

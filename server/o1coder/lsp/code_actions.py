"""`textDocument/codeAction`: which o1coder actions apply at a position (pure, no model work).

Listing only finds the target (a local parse of one function) and asks the work-command
registry which commands the menu offers on it; each action's `data` is the command and its
WorkArgs as JSON. `codeAction/resolve` returns the action with its `command` set, and the
work happens in `workspace/executeCommand`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from o1coder.lsp.targets import find_target
from o1coder.lsp.work_args import WorkArgs
from o1coder.lsp.work_commands import BY_ID, WorkCommand, offered


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
    target = find_target(text, position.line, position.character, selection)
    if target is None:
        return []
    args = WorkArgs.at(uri, position, version, selection).to_json()
    actions = []
    for command in offered(target):
        if not kind_allowed(command.action_kind.value, only):
            continue
        action = types.CodeAction(
            title=command.title, kind=command.action_kind, data={"command": command.id, "arguments": args}
        )
        if with_command:
            action.command = to_command(command, args)
        actions.append(action)
    return actions


def to_command(command: WorkCommand, args: dict[str, Any]) -> types.Command:
    return types.Command(title=command.title, command=command.id, arguments=[args])


def resolve(action: types.CodeAction) -> types.CodeAction:
    """Set the action's command from its `data` (the work itself runs in executeCommand)."""
    data = action.data if isinstance(action.data, dict) else {}
    command = BY_ID.get(data.get("command"))
    if action.command is None and command is not None:
        action.command = to_command(command, data.get("arguments") or {})
    return action

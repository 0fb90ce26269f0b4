"""The arguments of the server's commands, typed: attrs classes that cattrs structures and unstructures.

`WorkArgs` is the one argument of o1coder.plan / refine / implement / generateTests: the code
actions build it and send `to_json()`, the handlers `parse` it back. `DocumentArg` names the
document of o1coder.cancel and o1coder.retry. Both go through lsprotocol's converter (the one
pygls structures LSP params with), so `position` and `range` are LSP types with their checks,
plus strict integers and strings: the lax default would read "7" as 7 and true as 1.

A bad argument raises JsonRpcInvalidParams, which answers the request with an error saying what
the argument must look like and which fields are wrong. (pygls structures a handler's typed
parameters itself, but answers a missing argument with "Expected 1 arguments, got 0".)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import attrs
from cattrs import ClassValidationError
from cattrs.v import format_exception
from lsprotocol import converters, types
from pygls.exceptions import JsonRpcInvalidParams

T = TypeVar("T")

WORK_USAGE = (
    '{"uri": "file:///...", "position": {"line": N, "character": N}, "version": N (optional), '
    '"range": an LSP Range (optional)}'
)


class _NotThisType(TypeError):
    """A value of the wrong JSON type; its message is for the user."""


def _strict_int(value: Any, _type: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _NotThisType(f"expected an integer, got {value!r}")
    return value


def _strict_str(value: Any, _type: Any) -> str:
    if not isinstance(value, str):
        raise _NotThisType(f"expected a string, got {value!r}")
    return value


_converter = converters.get_converter()
_converter.register_structure_hook(int, _strict_int)
_converter.register_structure_hook(str, _strict_str)


def _not_empty(_instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not value:
        raise ValueError(f"`{attribute.name}` is empty")


@attrs.frozen
class WorkArgs:
    """Where a work command runs: the document, the cursor, the version it saw, the selection."""

    uri: str = attrs.field(validator=_not_empty)
    position: types.Position
    version: int | None = None  # the request is refused as stale when the document moved past it
    range: types.Range | None = None  # a selection: the task it describes, or the function it spans

    @classmethod
    def at(
        cls, uri: str, position: types.Position, version: int | None, selection: types.Range | None = None
    ) -> WorkArgs:
        """The arguments at a cursor; a selection only when it is not empty."""
        if selection is not None and selection.start == selection.end:
            selection = None
        return cls(uri=uri, position=position, version=version, range=selection)

    def to_json(self) -> dict[str, Any]:
        """The JSON object the editor sends back (fields that are None are left out)."""
        return _converter.unstructure(self)

    @classmethod
    def parse(cls, command: str, arguments: Sequence[Any]) -> WorkArgs:
        """The WorkArgs of `command`'s executeCommand arguments; JsonRpcInvalidParams saying what is wrong."""
        usage = f"{command} takes one argument: {WORK_USAGE}"
        if len(arguments) != 1:
            raise JsonRpcInvalidParams(f"{usage}; got {len(arguments)} arguments")
        if not isinstance(arguments[0], dict):
            raise JsonRpcInvalidParams(f"{usage}; got {type(arguments[0]).__name__} {arguments[0]!r}")
        return _structure(arguments[0], cls, usage)


@attrs.frozen
class DocumentArg:
    uri: str = attrs.field(validator=_not_empty)


def parse_document(command: str, arguments: Sequence[Any]) -> str | None:
    """The uri in `command`'s arguments (none, a uri, or {"uri": ...}); None without one."""
    usage = f'{command} takes no argument, a uri, or {{"uri": ...}}'
    if not arguments:
        return None
    if len(arguments) > 1:
        raise JsonRpcInvalidParams(f"{usage}; got {len(arguments)} arguments")
    [argument] = arguments
    if isinstance(argument, str):
        return argument
    if not isinstance(argument, dict):
        raise JsonRpcInvalidParams(f"{usage}; got {type(argument).__name__} {argument!r}")
    return _structure(argument, DocumentArg, usage).uri


def _structure(raw: dict[str, Any], cls: type[T], usage: str) -> T:
    try:
        return _converter.structure(raw, cls)
    except ClassValidationError as exc:
        problems = "; ".join(_describe(*leaf) for leaf in _leaves(exc))
        raise JsonRpcInvalidParams(f"{usage}; {problems}") from None


def _leaves(
    exc: BaseException, path: tuple[str, ...] = (), field_type: Any = None
) -> Iterator[tuple[tuple[str, ...], BaseException, Any]]:
    """(field path, error, the field's type) of each error in a cattrs error tree."""
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for error, note in with_notes:
            yield from _leaves(error, (*path, note.name), note.type)
        for error in without:
            yield from _leaves(error, path, None)
        return
    yield path, exc, field_type


def _describe(path: tuple[str, ...], error: BaseException, field_type: Any) -> str:
    """One error in words, e.g. "`position`: line: expected an integer, got 'one'"."""
    if isinstance(error, KeyError):
        what = "missing"
    elif isinstance(error, _NotThisType | ValueError):  # ours, or an LSP type's check (a negative line)
        what = str(error)
    else:
        what = format_exception(error, field_type)
    if not path:
        return what
    head, *rest = path
    return f"`{head}`: " + (f"{'.'.join(rest)}: " if rest else "") + what

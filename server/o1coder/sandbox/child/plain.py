"""Plain data across process boundaries: the only form a candidate's results take on the way out.

A value the candidate computed is turned into a JSON tree of tagged lists built from exact
builtin types only (`encode`, in the process that computed it), and back into fresh builtin
objects (`decode`, in the parent or the judge). Whatever the candidate's classes do in
`__eq__`, `__hash__` or `__repr__`, what is compared on the other side is a plain int, str,
list... that the decoding side built itself. Values that are not plain data become an
`Opaque` marker (type name and a short description) that equals nothing but itself; in the
judge's remote calls they become handles (see `judge`).

    None, True, False, "text"       themselves (JSON null / true / false / string)
    ["i", "-0x1f"]                  int (hex: no digit limit, exact)
    ["f", "1.5"] ["c", re, im]      float (repr: exact, nan/inf included), complex
    ["b", "00ff"] ["ba", "00ff"]    bytes, bytearray
    ["l", [...]] ["t", [...]]       list, tuple
    ["s", [...]] ["fs", [...]]      set, frozenset
    ["d", [[k, v], ...]]            dict
    ["F", num, den] ["D", "1.10"]   fractions.Fraction, decimal.Decimal
    ["?", type name, description]   not plain data (or too large, too deep, cyclic)
    ["h", id, type name, callable]  a handle to an object kept in the candidate's process
    ["fn", module, qualname]        a standard-library function or class, by name (`key=len`)

Subclasses of the builtin types (IntEnum members, namedtuples, Counter, a str subclass
with an always-true `__eq__`) are encoded as their base value, read through the base
type's own methods, so their overrides never run. Where handles can be made (the judge's
remote calls), a subclass the candidate defined itself becomes a handle instead, so its
methods stay callable; its value still compares through its base value (see `judge`).

This module is sent to the sandbox children as a code object (it imports only the standard
library); the parent imports it as `o1coder.sandbox.child.plain`.
"""

from __future__ import annotations

import json
import sys

MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_TEXT = 1 << 20  # characters of one str / bytes value
HANDLE = "h"
OPAQUE = "?"


class PlainError(ValueError):
    """Text that is not a well-formed plain-data tree (or exceeds the limits)."""


class Opaque:
    """A value that was not plain data: equal only to itself, shown as `<type: description>`."""

    __slots__ = ("type_name", "description")

    def __init__(self, type_name: str, description: str):
        self.type_name, self.description = type_name, description

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.description}>" if self.description else f"<{self.type_name}>"

    __hash__ = object.__hash__


class Budget:
    """How many more nodes and characters an encoding may use."""

    __slots__ = ("nodes", "chars")

    def __init__(self, nodes: int = MAX_NODES, chars: int = 4 * MAX_TEXT):
        self.nodes, self.chars = nodes, chars


_QUALNAME = type.__dict__["__qualname__"].__get__  # the class's own name, whatever its metaclass says
_MODULE = type.__dict__["__module__"].__get__
_REAL, _IMAG = complex.__dict__["real"].__get__, complex.__dict__["imag"].__get__


def _type_name(value) -> str:
    cls = type(value)
    name, module = _QUALNAME(cls), _MODULE(cls)
    name = str.__str__(name) if isinstance(name, str) else "object"
    if type(module) is str and module not in ("builtins", "__candidate__", "__test__"):
        return module + "." + name
    return name


def encode(value, budget: Budget | None = None, handle=None, depth: int = 0, path: frozenset = frozenset()):
    """The JSON tree of `value`. `handle(obj)` -> handle tree for non-plain objects, else Opaque.

    Types are read with `type()` and `issubclass` (never `isinstance`, which believes a
    `__class__` property) and values through the builtin types' own methods.
    """
    budget = budget if budget is not None else Budget()
    budget.nodes -= 1
    if budget.nodes < 0:
        return [OPAQUE, _type_name(value), f"too large to send (over {MAX_NODES} values)"]
    if value is None or value is True or value is False:
        return value
    cls = type(value)
    if cls is Opaque:
        return [OPAQUE, value.type_name, value.description]
    if handle is not None and cls not in _PLAIN and issubclass(cls, _PLAIN) and not from_stdlib(cls):
        return handle(value)
    if depth > MAX_DEPTH:
        return [OPAQUE, _type_name(value), f"nested deeper than {MAX_DEPTH} levels"]
    if issubclass(cls, str):
        text = str.__str__(value)
        budget.chars -= len(text)
        if len(text) > MAX_TEXT or budget.chars < 0:
            return [OPAQUE, "str", f"too long to send ({len(text)} characters)"]
        return text
    if issubclass(cls, int):
        return ["i", hex(int.__int__(value))]
    if issubclass(cls, float):
        return ["f", float.__repr__(float.__float__(value))]
    if issubclass(cls, complex):
        return ["c", float.__repr__(_REAL(value)), float.__repr__(_IMAG(value))]
    if issubclass(cls, (bytes, bytearray)):
        data = bytes.__bytes__(value) if issubclass(cls, bytes) else bytes(bytearray.copy(value))
        budget.chars -= 2 * len(data)
        if len(data) > MAX_TEXT or budget.chars < 0:
            return [OPAQUE, _type_name(value), f"too long to send ({len(data)} bytes)"]
        return ["b" if issubclass(cls, bytes) else "ba", bytes.hex(data)]
    special = _special(value)
    if special is not None:
        return special
    key = id(value)
    if key in path:
        return [OPAQUE, _type_name(value), "contains itself"]
    inner = path | {key}
    if issubclass(cls, (list, tuple, set, frozenset)):
        if issubclass(cls, list):
            tag, items = "l", list.__iter__(value)
        elif issubclass(cls, tuple):
            tag, items = "t", tuple.__iter__(value)
        elif issubclass(cls, frozenset):
            tag, items = "fs", frozenset.__iter__(value)
        else:
            tag, items = "s", set.__iter__(value)
        out = []
        for item in items:
            out.append(encode(item, budget, handle, depth + 1, inner))
            if budget.nodes < 0:
                return [OPAQUE, _type_name(value), f"too large to send (over {MAX_NODES} values)"]
        return [tag, out]
    if issubclass(cls, dict):
        pairs = []
        for k, v in dict.items(value):
            pairs.append([encode(k, budget, handle, depth + 1, inner), encode(v, budget, handle, depth + 1, inner)])
            if budget.nodes < 0:
                return [OPAQUE, _type_name(value), f"too large to send (over {MAX_NODES} values)"]
        return ["d", pairs]
    named = _named(value)
    if named is not None:
        return named
    if handle is not None:
        return handle(value)
    return [OPAQUE, _type_name(value), "not plain data"]


_PLAIN = (str, int, float, complex, bytes, bytearray, list, tuple, set, frozenset, dict)
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"builtins"}


def from_stdlib(cls) -> bool:
    """Whether a class (or function) was defined by a standard-library module."""
    module = getattr(cls, "__module__", None)
    return type(module) is str and module.partition(".")[0] in _STDLIB


def _named(value):
    """A standard-library function or class as its name (sendable: the receiver imports it)."""
    kinds = (type(len), type(_named), type, type(str.lower), type(str.__add__), type(dict.__dict__["fromkeys"]))
    if type(value) not in kinds:
        return None
    owner = getattr(value, "__objclass__", None)
    module = getattr(value, "__module__", None) or getattr(owner, "__module__", None)
    name = getattr(value, "__qualname__", None)
    if type(module) is not str or module.partition(".")[0] not in _STDLIB or type(name) is not str:
        return None
    try:  # only what the receiver will find under that name (not a class made at run time)
        if "<" in name or _resolve(module, name) is not value:
            return None
    except PlainError:
        return None
    return ["fn", module, name]


def _special(value):
    """Fraction and Decimal: the standard library's own classes only (found where they are loaded)."""
    cls = type(value)
    fractions = sys.modules.get("fractions")
    if fractions is not None and cls is getattr(fractions, "Fraction", None):
        return ["F", hex(int.__int__(value.numerator)), hex(int.__int__(value.denominator))]
    decimal = sys.modules.get("decimal")
    if decimal is not None and cls is getattr(decimal, "Decimal", None):
        return ["D", str.__str__(value.__str__())]
    return None


def dumps(tree) -> str:
    return json.dumps(tree, separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes):
    """The JSON tree in `text`; PlainError if it is not JSON."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError, MemoryError, UnicodeDecodeError) as exc:
        raise PlainError(f"not JSON ({type(exc).__name__})") from None


def decode(tree, make_handle=None, budget: Budget | None = None, depth: int = 0, resolve: bool = False):
    """Fresh builtin objects from a tree; PlainError if it is malformed or over the limits.

    `make_handle(id, type_name, is_callable)` turns a handle into an object (else Opaque).
    Standard-library functions sent by name are imported only with `resolve` (in the sandbox
    children, never in the parent: importing a module can have effects), else Opaque.
    """
    budget = budget if budget is not None else Budget()
    budget.nodes -= 1
    if budget.nodes < 0:
        raise PlainError(f"more than {MAX_NODES} values")
    if depth > MAX_DEPTH + 2:
        raise PlainError(f"nested deeper than {MAX_DEPTH} levels")
    if tree is None or tree is True or tree is False:
        return tree
    if type(tree) is str:
        return tree
    if type(tree) is not list or not tree or type(tree[0]) is not str:
        raise PlainError(f"unexpected {type(tree).__name__} in a plain-data tree")
    tag, args = tree[0], tree[1:]
    try:
        if tag == "i" and len(args) == 1:
            return int(_text(args[0], 4 * MAX_TEXT), 16)
        if tag == "f" and len(args) == 1:
            return float(_text(args[0], 64))
        if tag == "c" and len(args) == 2:
            return complex(float(_text(args[0], 64)), float(_text(args[1], 64)))
        if tag in ("b", "ba") and len(args) == 1:
            data = bytes.fromhex(_text(args[0], 2 * MAX_TEXT))
            return data if tag == "b" else bytearray(data)
        if tag in ("l", "t", "s", "fs") and len(args) == 1 and type(args[0]) is list:
            items = [decode(item, make_handle, budget, depth + 1, resolve) for item in args[0]]
            return {"l": list, "t": tuple, "s": set, "fs": frozenset}[tag](items)
        if tag == "d" and len(args) == 1 and type(args[0]) is list:
            out = {}
            for pair in args[0]:
                if type(pair) is not list or len(pair) != 2:
                    raise PlainError("a dict entry is not a [key, value] pair")
                out[decode(pair[0], make_handle, budget, depth + 1, resolve)] = decode(
                    pair[1], make_handle, budget, depth + 1, resolve
                )
            return out
        if tag == "F" and len(args) == 2:
            from fractions import Fraction

            return Fraction(int(_text(args[0], 4 * MAX_TEXT), 16), int(_text(args[1], 4 * MAX_TEXT), 16))
        if tag == "D" and len(args) == 1:
            from decimal import Decimal

            return Decimal(_text(args[0], 4096))
        if tag == "fn" and len(args) == 2:
            module, name = _text(args[0], 200), _text(args[1], 200)
            return _resolve(module, name) if resolve else Opaque("function", f"{module}.{name}")
        if tag == OPAQUE and len(args) == 2:
            return Opaque(_text(args[0], 200), _text(args[1], 200))
        if tag == HANDLE and len(args) == 3 and type(args[0]) is int and type(args[2]) is bool:
            type_name = _text(args[1], 200)
            return make_handle(args[0], type_name, args[2]) if make_handle else Opaque(type_name, "an object")
    except (ValueError, TypeError, ZeroDivisionError, ArithmeticError) as exc:
        if isinstance(exc, PlainError):
            raise
        raise PlainError(f"bad {tag!r} value ({type(exc).__name__}: {exc})"[:200]) from None
    raise PlainError(f"unknown tag {tag[:20]!r} with {len(args)} argument(s)")


def _resolve(module: str, qualname: str):
    """The standard-library object `module.qualname` (nothing else is resolved)."""
    if module.partition(".")[0] not in _STDLIB:
        raise PlainError(f"{module} is not a standard-library module")
    try:
        found = __import__(module, fromlist=["_"])
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise PlainError(f"cannot find {module}.{qualname} ({type(exc).__name__})") from None
    return found


def _text(value, limit: int) -> str:
    if type(value) is not str or len(value) > limit:
        raise PlainError(f"a field is not a string of at most {limit} characters")
    return value


def canonical(value) -> str:
    """One text per value, for comparing behaviour across candidates: sets and dicts sorted."""
    return dumps(_canonical_tree(value))


def _canonical_tree(value):
    return _sorted(encode(value))


def _sorted(tree):
    if type(tree) is not list or not tree:
        return tree
    tag = tree[0]
    if tag in ("l", "t"):
        return [tag, [_sorted(item) for item in tree[1]]]
    if tag in ("s", "fs"):
        return [tag, sorted((_sorted(item) for item in tree[1]), key=dumps)]
    if tag == "d":
        return [tag, sorted(([_sorted(k), _sorted(v)] for k, v in tree[1]), key=lambda kv: dumps(kv[0]))]
    return tree

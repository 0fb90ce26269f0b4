"""Which values to probe a parameter with: pools by kind, and the kind of each parameter.

A parameter's kind comes from its annotation (`int`, `list[str]`, `Optional[bytes]`), else
its default's type, else how the function's body uses it (`isinstance(x, str)`,
`x.split()`, `x.items()`, `range(x)`, `x + 1`, `for v in x`), else its name (`n` and
`count` are ints, `text` and `path` strings, `items` lists), else the mixed pool.
"""

from __future__ import annotations

import ast
from collections import Counter

INTS = (0, 1, 2, 3, 5, 7, 10, 12, 100, -1, -4)
FLOATS = (0.0, 0.5, 1.0, 2.5, -1.5, 3.25, 10.0)
STRS = (
    "", "a", "abc", "hello world", "Hello, World!", "  padded  ", "a-b_c.d", "12345",
    "CamelCaseWord", "line one\nline two", "x=1, y=2", "ünïcödé", "<b>Tom & 'Jerry'</b>",
    "a\tb  c", "dir/sub/file.txt", "MiXeD 42 case",
)  # fmt: skip
BYTES = (b"", b"abc", b"hello world", b"\x00\x01\xff")
BOOLS = (True, False)
INT_LISTS = ([], [1], [3, 1, 2], [1, 2, 2, 3], [-5, 0, 5, 10], [4, 4, 4])
STR_LISTS = ([], ["a"], ["b", "a", "c"], ["hello", "world"], ["x", "", "y"])
DICTS = ({}, {"a": 1}, {"b": 2, "a": 1}, {"x": "y"})
TUPLES = ((), (1,), (1, 2), (3, 1, 2))
SETS = (set(), {1}, {1, 2, 3})
MIXED = (0, 1, 3, "abc", "hello world", "", [1, 2, 3], [], -2, "a,b")
POOLS: dict[str, tuple] = {
    "int": INTS,
    "float": FLOATS,
    "str": STRS,
    "bytes": BYTES,
    "bool": BOOLS,
    "list": INT_LISTS + STR_LISTS[2:],
    "list[int]": INT_LISTS,
    "list[str]": STR_LISTS,
    "dict": DICTS,
    "tuple": TUPLES,
    "set": SETS,
    "mixed": MIXED,
}
_ANNOTATION_KINDS = {
    "int": "int", "float": "float", "complex": "float", "str": "str", "bytes": "bytes",
    "bytearray": "bytes", "bool": "bool", "dict": "dict", "Dict": "dict", "Mapping": "dict",
    "MutableMapping": "dict", "tuple": "tuple", "Tuple": "tuple", "set": "set", "Set": "set",
    "frozenset": "set", "AbstractSet": "set", "list": "list", "List": "list",
    "Sequence": "list", "MutableSequence": "list", "Iterable": "list", "Collection": "list",
    "Iterator": "list", "Number": "int", "Real": "float", "Integral": "int", "AnyStr": "str",
    "Text": "str",
}  # fmt: skip
_NAME_KINDS = {
    "int": (
        "n", "k", "i", "j", "m", "num", "count", "size", "width", "height", "index", "idx",
        "start", "stop", "end", "length", "level", "depth", "base", "year", "month", "day",
        "number", "limit", "maxsize", "offset", "pos", "position", "step", "digits", "bits",
        "precision", "ndigits", "places", "times", "repeat", "indent", "columns", "lineno",
    ),
    "float": ("x", "y", "z", "value", "val", "ratio", "alpha", "beta", "t", "fraction", "p", "q"),
    "str": (
        "s", "text", "string", "name", "path", "line", "word", "prefix", "suffix", "sep", "char",
        "pattern", "url", "source", "src", "msg", "message", "label", "key", "title", "ext",
        "filename", "fname", "word", "chars", "delimiter", "encoding", "fmt", "format", "token",
        "identifier", "host", "domain", "query", "header", "content", "data_str", "letters",
        "st", "txt", "code", "expr", "expression", "template", "version", "tag",
    ),
    "list": (
        "items", "seq", "sequence", "values", "lst", "list", "iterable", "nums", "numbers",
        "elements", "arr", "array", "xs", "data", "a", "b", "l", "iterables", "it", "lines",
        "words", "strings", "names", "parts", "args", "vector", "v", "points",
    ),
    "dict": ("d", "mapping", "dct", "dictionary", "kwargs", "table", "obj_dict", "counts"),
    "bool": ("flag", "strict", "reverse", "verbose", "force", "recursive"),
    "bytes": ("b", "buf", "buffer", "raw", "payload", "bdata"),
}  # fmt: skip
NAME_KINDS = {name: kind for kind, names in _NAME_KINDS.items() for name in names}



_METHOD_KINDS = {
    "str": (
        "split", "rsplit", "strip", "lstrip", "rstrip", "startswith", "endswith", "lower", "upper",
        "replace", "find", "rfind", "encode", "format", "isdigit", "isalpha", "isalnum", "isspace",
        "isupper", "islower", "splitlines", "partition", "rpartition", "casefold", "expandtabs",
        "ljust", "rjust", "center", "zfill", "title", "capitalize", "swapcase", "isidentifier",
        "translate", "removeprefix", "removesuffix",
    ),
    "bytes": ("decode", "hex"),
    "list": ("append", "extend", "insert", "sort", "reverse", "pop", "remove"),
    "dict": ("items", "keys", "values", "get", "setdefault", "update", "popitem"),
    "set": ("add", "discard", "union", "intersection", "difference", "issubset", "issuperset"),
    "int": ("bit_length", "to_bytes", "bit_count"),
    "float": ("is_integer", "as_integer_ratio"),
}  # fmt: skip
METHOD_KINDS = {method: kind for kind, methods in _METHOD_KINDS.items() for method in methods}


def parameter_kind(fn: ast.FunctionDef, arg: ast.arg) -> str:
    """Which pool a parameter's probes come from: its annotation, its default, how the body
    uses it, its name; else the mixed pool."""
    kind = _annotation_kind(arg.annotation) if arg.annotation is not None else None
    default = _default(fn, arg)
    if kind is None and default is not None:
        try:
            value = ast.literal_eval(default)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            value = None
        if value is not None:
            kind = _value_kind(value)
    return kind or usage_kind(fn, arg.arg) or NAME_KINDS.get(arg.arg.lower().strip("_")) or "mixed"


def _default(fn: ast.FunctionDef, arg: ast.arg) -> ast.expr | None:
    params = fn.args.posonlyargs + fn.args.args
    defaults = dict(zip([a.arg for a in params[len(params) - len(fn.args.defaults) :]], fn.args.defaults, strict=True))
    defaults |= {a.arg: d for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True) if d is not None}
    return defaults.get(arg.arg)


def usage_kind(fn: ast.FunctionDef, name: str) -> str | None:
    """The kind the body treats `name` as: `isinstance(name, str)`, `name.split(...)`,
    `name.items()`, `range(name)`, `name + 1`, `for x in name`, `name[i]`; None if unclear."""
    votes: list[str] = []
    for node in ast.walk(fn):
        if _is_call_of(node, "isinstance") and _names(node.args[0], name) and len(node.args) == 2:  # type: ignore[attr-defined]
            kind = _annotation_kind(node.args[1])  # type: ignore[attr-defined]
            if kind is not None:
                return kind
        if isinstance(node, ast.Attribute) and _names(node.value, name):
            kind = METHOD_KINDS.get(node.attr)
            if kind is not None:
                votes.append(kind)
        elif _is_call_of(node, "range") and any(_names(a, name) for a in node.args):  # type: ignore[attr-defined]
            votes.append("int")
        elif isinstance(node, ast.BinOp) and (_names(node.left, name) or _names(node.right, name)):
            other = node.right if _names(node.left, name) else node.left
            if isinstance(other, ast.Constant) and type(other.value) in (int, float) and not isinstance(node.op, ast.Mod):
                votes.append("float" if isinstance(node.op, ast.Div) or isinstance(other.value, float) else "int")
        elif isinstance(node, ast.For | ast.comprehension) and _names(node.iter, name) or isinstance(node, ast.Subscript) and _names(node.value, name) and not isinstance(node.slice, ast.Slice):
            votes.append("list")
    if not votes:
        return None
    counts = Counter(votes)
    specific = [k for k in counts if k != "list"]
    return max(specific, key=counts.__getitem__) if specific else "list"


def _is_call_of(node: ast.AST, function: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function and bool(node.args)


def _names(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _annotation_kind(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        return _annotation_kind(node.left) or _annotation_kind(node.right)
    if isinstance(node, ast.Subscript):
        outer = _name(node.value)
        if outer in ("Optional", "Union"):
            inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return next((k for k in map(_annotation_kind, inner) if k), None)
        kind = _ANNOTATION_KINDS.get(outer or "")
        if kind == "list":
            element = _annotation_kind(node.slice)
            return f"list[{element}]" if element in ("int", "str") else "list"
        return kind
    return _ANNOTATION_KINDS.get(_name(node) or "")


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _value_kind(value: object) -> str | None:
    for kind, types in (
        ("bool", bool), ("int", int), ("float", float), ("str", str), ("bytes", bytes),
        ("dict", dict), ("tuple", tuple), ("set", set | frozenset), ("list", list),
    ):  # fmt: skip
        if isinstance(value, types):
            return kind
    return None



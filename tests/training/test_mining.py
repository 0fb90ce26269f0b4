"""Mining: functions made to stand alone, doctest examples as tests, inputs to run them on."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from o1coder_train.data.examples import doctest_tests
from o1coder_train.data.inputs import Call, probes, variations, variations_of
from o1coder_train.data.kinds import POOLS, parameter_kind, usage_kind
from o1coder_train.data.mine import Candidate, mine
from o1coder_train.data.modules import ModuleFile, module_files
from o1coder_train.data.standalone import ModuleScope, NotStandalone

HELPERS = """
import math
import random

SCALE = 3


def _clamp(x, lo, hi):
    return max(lo, min(hi, x))


def scaled_clamp(x: int, lo: int, hi: int) -> int:
    \"\"\"Clamp x into [lo, hi], then multiply it by SCALE.\"\"\"
    return _clamp(x, lo, hi) * SCALE
"""


def _scope(source: str, name: str = "helpers", stdlib: bool = False) -> ModuleScope:
    return ModuleScope(textwrap.dedent(source), name, stdlib=stdlib)


def _function(scope: ModuleScope, name: str) -> ast.FunctionDef:
    found = scope.function(name)
    assert found is not None
    return found


# ------------------------------------------------------------------ standalone


def test_standalone_copies_the_helpers_and_constants_it_needs() -> None:
    scope = _scope(HELPERS)
    alone = scope.standalone(_function(scope, "scaled_clamp"))
    assert "def _clamp(x, lo, hi):" in alone.preamble and "SCALE = 3" in alone.preamble
    assert "import random" not in alone.preamble  # not used by this function
    namespace: dict = {}
    exec(alone.program(), namespace)
    assert namespace["scaled_clamp"](5, 0, 3) == 9


def test_standalone_rejects_what_needs_an_installed_package() -> None:
    scope = _scope("import numpy as np\n\ndef mean(xs):\n    'Mean of xs.'\n    return np.mean(xs)\n")
    with pytest.raises(NotStandalone, match="numpy"):
        scope.standalone(_function(scope, "mean"))
    inside = _scope("def mean(xs):\n    'Mean of xs.'\n    from .core import mean\n    return mean(xs)\n", "pkg.stats")
    with pytest.raises(NotStandalone, match="pkg"):
        inside.standalone(_function(inside, "mean"))


def test_a_value_changed_after_its_definition_is_imported_from_a_stdlib_module() -> None:
    source = "TABLE = {}\nTABLE['a'] = 1\n\ndef lookup(k):\n    'Look k up.'\n    return TABLE[k]\n"
    alone = _scope(source, "fakestd", stdlib=True).standalone(_function(_scope(source, "fakestd", True), "lookup"))
    assert alone.preamble == "from fakestd import TABLE"
    with pytest.raises(NotStandalone):  # outside the standard library the sandbox cannot import it
        _scope(source).standalone(_function(_scope(source), "lookup"))


def test_relative_imports_are_made_absolute() -> None:
    scope = ModuleScope("from .util import helper\n\ndef f(x):\n    'F.'\n    return helper(x)\n", "json.sub", stdlib=True)
    assert scope.standalone(_function(scope, "f")).preamble == "from json.util import helper"


# ------------------------------------------------------------------ doctests


def test_session_values_are_written_into_the_example() -> None:
    doc = """
    >>> import io
    >>> raw = b'\\xff'
    >>> data = [3, 1, 2]
    >>> mod.read(io.BytesIO(raw), data)
    255
    """
    found = doctest_tests(textwrap.dedent(doc), "read")
    assert found.tests == ["import io\nassert read(io.BytesIO(b'\\xff'), [3, 1, 2]) == 255\n"]
    assert found.seeds == [Call("read(io.BytesIO(b'\\xff'), [3, 1, 2])", ("import io",))]


def test_a_changed_session_value_is_replayed() -> None:
    doc = """
    >>> h = []
    >>> push(h, 3)
    >>> h
    [3]
    """
    (test,) = doctest_tests(textwrap.dedent(doc), "push").tests
    assert test == "def test_example():\n    h = []\n    push(h, 3)\n    assert h == [3]\n"


def test_printed_output_reprs_exceptions_and_comparisons() -> None:
    doc = """
    >>> print(show(2))
    two
    <BLANKLINE>
    lines
    >>> show(1)
    One(1)
    >>> show(1) == show(1)
    True
    >>> show(-1)
    Traceback (most recent call last):
    ValueError: negative
    >>> from here import show
    >>> show(3)  # doctest: +ELLIPSIS
    Th...
    """
    tests = doctest_tests(textwrap.dedent(doc), "show").tests
    assert tests[0] == "assert str(show(2)) == 'two\\n\\nlines'\n"
    assert tests[1] == "assert repr(show(1)) == 'One(1)'\n"
    assert tests[2] == "assert show(1) == show(1)\n"  # not the chained `a == b == True`
    assert "except Exception as exc:" in tests[3] and "'ValueError'" in tests[3]
    assert len(tests) == 4  # the ELLIPSIS example is left out


MOST = """
from collections import Counter


def most(data):
    \"\"\"The most common item.

    >>> counts = Counter('abca')
    >>> most(list(counts.elements()))
    'a'
    \"\"\"
    return max(data, key=data.count)
"""


def test_examples_get_the_module_names_doctest_would_give_them(tmp_path: Path) -> None:
    (tmp_path / "most.py").write_text(MOST)
    (cand,) = mine([ModuleFile("most", tmp_path / "most.py", stdlib=False)])
    assert isinstance(cand, Candidate) and cand.preamble == ""
    assert cand.doctests == ["from collections import Counter\nassert most(list(Counter('abca').elements())) == 'a'\n"]


# ------------------------------------------------------------------ inputs


def test_variations_are_type_aware() -> None:
    assert {4, 6, 0, 1, 10, -5, 2, 12} == set(variations(5))
    assert "" in variations("abc") and "cba" in variations("abc")
    lists = variations([3, 1, 2])
    assert [] in lists and [1, 2, 3] in lists and [2, 1, 3] in lists and [4, 1, 2] in lists
    assert all(isinstance(v, tuple) for v in variations((1, 2)))


def test_calls_vary_one_literal_and_keep_their_imports() -> None:
    seed = Call("read(io.BytesIO(b'ab'), 2)", ("import io",))
    found = variations_of([seed], limit=50)
    assert Call("read(io.BytesIO(b''), 2)", ("import io",)) in found
    assert Call("read(io.BytesIO(b'ab'), 3)", ("import io",)) in found
    assert seed not in found


def test_the_body_tells_a_parameters_kind() -> None:
    fn = ast.parse(
        "def f(a, b, c, d, e):\n"
        "    if isinstance(e, bytes):\n        pass\n"
        "    for k, v in b.items():\n        a.append(c.strip())\n"
        "    return [x for x in range(d)]\n"
    ).body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert [usage_kind(fn, name) for name in "abcde"] == ["list", "dict", "str", "int", "bytes"]
    assert usage_kind(fn, "unused") is None


def test_probes_follow_annotations_defaults_and_names() -> None:
    fn = ast.parse("def f(text, n: int, items=(), *, flag=False): pass").body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert parameter_kind(fn, fn.args.args[0]) == "str"
    assert parameter_kind(fn, fn.args.args[1]) == "int"
    assert parameter_kind(fn, fn.args.args[2]) == "tuple"
    calls = probes(fn, limit=10)
    assert len(calls) == 10 and all(c.expr.startswith("f(") for c in calls)
    values = [ast.literal_eval(ast.parse(c.expr, mode="eval").body.args[0]) for c in calls]  # type: ignore[attr-defined]
    assert all(v in POOLS["str"] for v in values)


def test_module_names_expand_to_files(tmp_path: Path) -> None:
    stdlib = {m.name for m in module_files(["json", "stdlib"])}
    assert {"json", "json.decoder", "statistics"} <= stdlib
    assert not any(name.startswith(("test.", "tkinter", "idlelib")) for name in stdlib)
    assert not {"locale", "platform", "shutil"} & stdlib  # they answer about this machine
    (tmp_path / "one.py").write_text("def f():\n    pass\n")
    assert [m.name for m in module_files([str(tmp_path / "one.py")])] == ["one"]

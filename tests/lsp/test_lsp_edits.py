"""Unit tests of the pure text logic: targets at a position (`o1coder.lsp.targets`), and the edits
built for them (`o1coder.lsp.edits`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from lsprotocol import types

from o1coder.lsp import edits, targets
from o1coder.lsp.text import is_python_document, is_valid_python, split_lines

SAMPLE = textwrap.dedent(
    '''\
    import math


    def add(a, b):
        """Return the sum."""
        pass


    class K:
        def method(self, x):
            # TODO: implement
            ...

        def done(self):
            return 1


    def plan_me(xs: list[int]) -> int:
        # Plan:
        # 1. loop
        pass

    def one(): pass

    def sig(
        a,
        b,
    ) -> int:
        raise NotImplementedError("later")

    # write a function that returns the nth fibonacci number
    '''
)
LINES = split_lines(SAMPLE)


def line_of(text: str, needle: str) -> int:
    """The first line that starts with `needle` (leading spaces ignored on both)."""
    return next(i for i, line in enumerate(split_lines(text)) if line.lstrip().startswith(needle.lstrip()))


def target_at(needle: str, character: int = 4, text: str = SAMPLE) -> targets.Target | None:
    return targets.find_target(text, line_of(text, needle), character)


@pytest.mark.parametrize(
    "needle, qualname, stub",
    [
        ("def add", "add", True),
        ('"""Return the sum."""', "add", True),
        ("    pass", "add", True),
        ("def method", "K.method", True),
        ("# TODO: implement", "K.method", True),
        ("return 1", "K.done", False),
        ("# 1. loop", "plan_me", True),
        ("def one", "one", True),
        ("    a,", "sig", True),
        (") -> int:", "sig", True),
        ("raise NotImplementedError", "sig", True),
    ],
)
def test_function_at_position(needle: str, qualname: str, stub: bool) -> None:
    target = target_at(needle)
    assert isinstance(target, targets.FunctionTarget)
    assert target.qualname == qualname
    assert target.stub is stub


@pytest.mark.parametrize("needle", ["import math", "class K:"])
def test_no_target_outside_functions(needle: str) -> None:
    assert target_at(needle, 0) is None


def test_body_ranges_and_comment_kinds() -> None:
    add = target_at("def add")
    assert isinstance(add, targets.FunctionTarget)
    assert add.has_docstring and add.body_start == line_of(SAMPLE, "    pass") and add.end_line == add.body_start
    method = target_at("def method")
    assert isinstance(method, targets.FunctionTarget)
    assert method.todo_lines == (line_of(SAMPLE, "# TODO"),) and not method.has_plan
    assert method.body_indent == " " * 8 and method.stub_statement == "..."
    planned = target_at("def plan_me")
    assert isinstance(planned, targets.FunctionTarget)
    assert planned.has_plan and planned.plan_text(LINES) == "Plan:\n1. loop"
    one = target_at("def one")
    assert isinstance(one, targets.FunctionTarget) and one.inline_col == len("def one(): ")


def test_blank_line_below_a_function_belongs_to_it_only_when_indented() -> None:
    blank = line_of(SAMPLE, "    pass") + 1
    assert LINES[blank] == ""
    inside = targets.find_target(SAMPLE, blank, 4)
    assert isinstance(inside, targets.FunctionTarget) and inside.name == "add"
    assert targets.find_target(SAMPLE, blank, 0) is None


def test_empty_body_at_end_of_file_is_a_stub() -> None:
    text = "def empty(x):\n    "
    target = targets.find_target(text, 1, 4)
    assert isinstance(target, targets.FunctionTarget) and target.stub and target.name == "empty"


def test_task_comment_and_selection() -> None:
    task = target_at("# write", 0)
    assert isinstance(task, targets.TaskTarget)
    assert task.text == "write a function that returns the nth fibonacci number" and not task.replace
    short = targets.find_target("# x = 1\n", 0, 0)
    assert short is None  # two words are a note, not a task
    documented = targets.find_target("# compute the total of all values\ntotal = sum(values)\n", 0, 0)
    assert documented is None  # code already follows: the comment documents it
    selection = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=2, character=0))
    selected = targets.find_target("x = [3, 1, 2]\nprint(sorted(x))\n", 0, 0, selection)
    assert isinstance(selected, targets.TaskTarget) and selected.replace
    inside = types.Range(
        start=types.Position(line=line_of(SAMPLE, "# TODO"), character=0),
        end=types.Position(line=line_of(SAMPLE, "        ..."), character=11),
    )
    method = targets.find_target(SAMPLE, inside.start.line, 0, inside)
    assert isinstance(method, targets.FunctionTarget) and method.qualname == "K.method"


def test_far_down_a_long_file_is_found_without_a_full_parse() -> None:
    body = "".join(f"def f{i}(x):\n    y = x + {i}\n    return y\n\n" for i in range(700))
    text = body + "def last(xs):\n    pass\n"
    target = targets.find_target(text, line_of(text, "def last") + 1, 4)
    assert isinstance(target, targets.FunctionTarget) and target.name == "last" and target.stub
    assert targets.find_target(text, 3, 0) is None  # the blank line between f0 and f1, at column 0


def apply(edit: types.TextEdit, text: str = SAMPLE) -> str:
    out = edits.apply_text_edits(text, [edit])
    assert is_valid_python(out), out
    return out


def test_plan_inserts_comments_and_keeps_todo_and_stub() -> None:
    target = target_at("def method")
    out = apply(edits.plan_edit(SAMPLE, target, "1. check x\n2. return it"))
    assert (
        "    def method(self, x):\n        # TODO: implement\n        # 1. check x\n        # 2. return it\n        ...\n"
        in out
    )
    assert out.count("def done(self):") == 1


def test_refine_replaces_the_plan() -> None:
    target = target_at("def plan_me")
    out = apply(edits.refine_edit(SAMPLE, target, "refined 1\nrefined 2"))
    assert "    # refined 1\n    # refined 2\n    pass\n" in out
    assert "# 1. loop" not in out


def test_implement_replaces_body_with_pseudocode_comments_then_code() -> None:
    target = target_at("def add")
    code = "import operator\n\ndef add(a, b):\n    '''Sum.'''\n    # add them\n    return operator.add(a, b)\n"
    out = apply(edits.implement_edit(SAMPLE, target, code, "add a and b", keep_pseudocode=True))
    expected = (
        'def add(a, b):\n    """Return the sum."""\n    # add a and b\n    import operator\n'
        "    # add them\n    return operator.add(a, b)\n\n\nclass K:"
    )
    assert expected in out
    no_comments = apply(edits.implement_edit(SAMPLE, target, code, "add a and b", keep_pseudocode=False))
    assert "# add a and b" not in no_comments


def test_implement_inline_and_nested_and_multiline_signature() -> None:
    out = apply(edits.implement_edit(SAMPLE, target_at("def one"), "def one():\n    return 1", ""))
    assert "def one():\n    return 1\n" in out
    out = apply(edits.implement_edit(SAMPLE, target_at("def method"), "def method(self, x):\n    return x * 2", ""))
    assert "    def method(self, x):\n        return x * 2\n\n    def done" in out
    out = apply(edits.implement_edit(SAMPLE, target_at(") -> int:"), "def sig(a, b):\n    return a - b", ""))
    assert ") -> int:\n    return a - b\n" in out


def test_implement_at_end_of_file_without_newline() -> None:
    text = "def f(x):\n    pass"
    target = targets.find_target(text, 1, 4)
    out = apply(edits.implement_edit(text, target, "def f(x):\n    return x + 1", ""), text)
    assert out == "def f(x):\n    return x + 1"


def test_implement_task_goes_below_the_comment() -> None:
    task = target_at("# write", 0)
    out = apply(edits.implement_edit(SAMPLE, task, "def solution(n):\n    return n", "loop n times"))
    assert out.endswith("# write a function that returns the nth fibonacci number\n# loop n times\ndef solution(n):\n    return n\n")


def test_crlf_documents_keep_crlf() -> None:
    text = "def f(x):\r\n    pass\r\n"
    target = targets.find_target(text, 1, 4)
    out = edits.apply_text_edits(text, [edits.implement_edit(text, target, "def f(x):\n    return x", "p")])
    assert out == "def f(x):\r\n    # p\r\n    return x\r\n"


def test_function_body_shapes() -> None:
    assert edits.function_body("return 1", "f") == "return 1"
    assert edits.function_body("def g():\n    return 2", "f") == "return 2"  # the only def, another name
    with pytest.raises(edits.CodeShapeError):
        edits.function_body("def f(:\n", "f")
    code = "def f(x):\n    return h(x)\n\ndef h(y):\n    return y\n\nif __name__ == '__main__':\n    print(f(1))\n"
    assert edits.function_body(code, "f") == "def h(y):\n    return y\nreturn h(x)"


def test_apply_text_edits_counts_utf16() -> None:
    text = "s = '😀x'\n"
    edit = types.TextEdit(
        range=types.Range(start=types.Position(line=0, character=7), end=types.Position(line=0, character=8)),
        new_text="y",
    )
    assert edits.apply_text_edits(text, [edit]) == "s = '😀y'\n"


def test_document_edit_is_versioned() -> None:
    change = edits.document_edit("file:///a.py", 7, [])
    assert change.text_document.version == 7
    assert edits.workspace_edit([change]).document_changes == [change]
    assert edits.workspace_edit([change], document_changes=False).changes == {"file:///a.py": []}


def test_tests_file_location_and_import(tmp_path: Path) -> None:
    module = tmp_path / "src" / "pkg" / "mod.py"
    module.parent.mkdir(parents=True)
    assert edits.tests_file_for(module, tmp_path) == module.with_name("test_mod.py")
    assert edits.import_line(module, tmp_path, ["f"], beside=True) == "from mod import f"
    (tmp_path / "tests").mkdir()
    assert edits.tests_file_for(module, tmp_path) == tmp_path / "tests" / "test_mod.py"
    assert edits.import_line(module, tmp_path, ["g", "f"], beside=False) == "from pkg.mod import f, g"


@pytest.mark.parametrize(
    "existing, expected",
    [
        ("", "def test_a():\n    pass\n"),
        ("import x\n", "import x\n\n\ndef test_a():\n    pass\n"),
        ("import x", "import x\n\n\ndef test_a():\n    pass\n"),
    ],
)
def test_append_edit(existing: str, expected: str) -> None:
    edit, _line = edits.append_edit(existing, "def test_a():\n    pass\n")
    assert edits.apply_text_edits(existing, [edit]) == expected


def test_python_documents_only() -> None:
    assert is_python_document("python", "file:///a.txt")
    assert not is_python_document("markdown", "file:///a.py")
    assert is_python_document(None, "file:///pkg/mod.py")
    assert is_python_document(None, "untitled:Untitled-1")
    assert not is_python_document(None, "file:///notes.md")

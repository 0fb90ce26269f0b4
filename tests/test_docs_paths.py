"""Every repository path the docs name exists: README files, and the docstrings and comments of
the project's Python files.

Two kinds of mention are checked:
- rooted paths (`server/o1coder/engine/tree.py`, `benchmarks/results/`, `editor-clients/nvim`):
  they must exist from the repository root;
- backticked relative names ending in .py, .md, .toml or .json (`engine/agreement.py`,
  `lsp_harness.py`), and .md names with or without backticks: some file of the repository
  must end with that path.

Mentions with placeholders (`test_<module>.py`, `*.gguf`, `...`) are not paths. `GENERATED`
lists the paths allowed to be absent because a run makes them, and `NOT_OURS` the examples
of a user's own files; nothing else may be missing.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("server", "training", "tests", "benchmarks", "editor-clients", "examples")
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", "build", "dist"}
# Written by a run, never committed: a benchmark's results, and the files of a training run
# directory (runs/NAME/: data/, export/, report/, models.json, and each saved model's files).
GENERATED = (
    "benchmarks/results/real-code/",
    "config.json",
    "data/build.json",
    "dequantized.json",
    "export/manifest.json",
    "manifest.json",
    "models.json",
    "report/summary.json",
    "build.json",
    "smoke.json",
    "smoke.md",
)
# Examples of a user's project, not files of this repository.
NOT_OURS = ("pkg/sub/mod.py",)

ROOTED = re.compile(rf"(?<![\w./~-])(?:{'|'.join(map(re.escape, ROOTS))})/[\w./-]*")
BACKTICKED = re.compile(r"`([\w./-]+\.(?:py|md|toml|json))`")
BARE_MD = re.compile(r"(?<![\w./:-])\w[\w./-]*\.md\b")  # any .md name, backticked or not
PLACEHOLDER = re.compile(r"[<>{}*$]|\.\.\.")


def repo_files() -> list[Path]:
    out = []
    stack = [REPO]
    while stack:
        directory = stack.pop()
        for entry in directory.iterdir():
            if entry.is_dir():
                if entry.name not in SKIP_DIRS and not entry.name.endswith(".egg-info"):
                    stack.append(entry)
            else:
                out.append(entry)
    return out


@cache
def relative_files() -> frozenset[str]:
    return frozenset(p.relative_to(REPO).as_posix() for p in repo_files())


def documented_texts() -> Iterator[tuple[Path, str]]:
    """(file, text) for every README and for every docstring and comment of the project's Python."""
    for path in sorted(repo_files()):
        rel = path.relative_to(REPO).as_posix()
        if path.name.startswith("README") and path.suffix == ".md":
            yield path, path.read_text(encoding="utf-8")
        elif path.suffix == ".py" and (rel.split("/")[0] in ROOTS):
            yield path, "\n".join(python_docs(path.read_text(encoding="utf-8")))


def python_docs(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield doc
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.string


def mentions(text: str) -> Iterator[tuple[str, str]]:
    """(kind, path) for each path mentioned in `text`: "rooted" or "relative"."""
    for match in ROOTED.finditer(text):
        path = match.group(0).rstrip(".")
        if not PLACEHOLDER.search(text[match.start() : match.end() + 1]):
            yield "rooted", path
    for path in [*BACKTICKED.findall(text), *BARE_MD.findall(text)]:
        if not PLACEHOLDER.search(path) and not path.startswith(ROOTS):
            yield "relative", path


def exists(kind: str, path: str) -> bool:
    if path in NOT_OURS or any(path.rstrip("/") == g.rstrip("/") or path.startswith(g) for g in GENERATED):
        return True
    if kind == "rooted":
        return (REPO / path).exists()
    files = relative_files()
    path = path.removeprefix("./")
    return path in files or any(f.endswith("/" + path) for f in files)


def stale_mentions() -> list[str]:
    stale = []
    for file, text in documented_texts():
        for kind, path in sorted(set(mentions(text))):
            if not exists(kind, path):
                stale.append(f"{file.relative_to(REPO)}: {path}")
    return stale


def test_every_documented_path_exists() -> None:
    stale = stale_mentions()
    assert not stale, "documented paths that do not exist:\n" + "\n".join(stale)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("see `server/o1coder/engine/tree.py`.", [("rooted", "server/o1coder/engine/tree.py")]),
        ("the summaries are in benchmarks/results/.", [("rooted", "benchmarks/results/")]),
        ("helpers live in `sandbox_helpers.py`", [("relative", "sandbox_helpers.py")]),
        ("(as measured in MODELS.md)", [("relative", "MODELS.md")]),
        ("https://github.com/ggml-org/ggml/blob/master/docs/gguf.md", []),
        ("a tests file `test_<module>.py` beside it", []),
        ("https://example.org/tests/x.py and ~/server/a.py are not ours", []),
    ],
)
def test_mentions_are_read_as_paths(text: str, found: list[tuple[str, str]]) -> None:
    assert list(mentions(text)) == found


def test_a_stale_path_is_caught() -> None:
    assert not exists("relative", "MODELS.md")  # outside the repository (../shared/reference)
    assert not exists("rooted", "server/o1coder/engine/no_such_module.py")
    assert exists("relative", "engine/agreement.py")
    assert exists("rooted", "benchmarks/results/real-code/summary.json")  # written by a run

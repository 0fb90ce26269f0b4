"""Problems mined from documented functions of installed Python files (read, never imported).

Every top-level function with a docstring is a candidate. Its signature and docstring are the
statement (HumanEval style), its source is the reference, and `standalone` gives both the
imports and module definitions they need. Two sources:

- `doctest`: the docstring has doctest examples; they become tests (`examples`) and their
  calls seed derived inputs (`inputs.variations_of`), probes added when they are few;
- `docstring`: no usable example; inputs are probed by parameter (`inputs.probes`) and
  the probes varied.

`derive` then runs the reference on all of it in the sandbox. What cannot become a problem is
counted by reason.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from o1coder_train.data.examples import doctest_tests
from o1coder_train.data.inputs import Call, defaults_call, probes, variations_of
from o1coder_train.data.loaders import docstring_function, signature_of
from o1coder_train.data.modules import ModuleFile
from o1coder_train.data.records import ProblemRecord
from o1coder_train.data.standalone import ModuleScope, NotStandalone, Standalone

DOCTEST, DOCSTRING = "doctest", "docstring"
MAX_SOURCE_CHARS = 4000
# Decorators that change no result (they cache it): kept on the reference; any other makes the
# function something else than its def says, and it is left out.
CACHES = ("functools.lru_cache", "lru_cache", "functools.cache", "cache")
MIN_STATEMENT_CHARS = 25  # a docstring shorter than this states no problem (without examples)
MAX_CALLS = 48  # inputs tried per problem
MAX_PROBES = 16  # of them probes picked by parameter; the rest vary them
MIN_VARIED_CALLS = 8  # fewer variations of the examples than this: probe parameters as well


@dataclass
class Candidate:
    """A function ready to be run: statement, reference program, doctest tests, inputs to try."""

    source: str  # doctest | docstring
    module: str
    function: str
    prompt: str  # the signature with the docstring
    preamble: str  # what the function needs from its module (imports, definitions)
    function_source: str
    doctests: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    fallback: list[Call] = field(default_factory=list)  # inputs to try instead when the first ones all raise

    @property
    def id(self) -> str:
        return f"{self.source}/{self.module}.{self.function}"

    @property
    def text(self) -> str:
        """The statement: the preamble, then the signature with the docstring."""
        return (self.preamble + "\n\n\n" if self.preamble else "") + self.prompt

    @property
    def program(self) -> str:
        return (self.preamble + "\n\n\n" if self.preamble else "") + self.function_source

    def draft(self) -> ProblemRecord:
        """The record as far as it is known before running anything (for leak checks)."""
        return ProblemRecord(self.id, self.source, self.text, [self.program], list(self.doctests), self.function)

    def own(self) -> ProblemRecord:
        """The function's own statement and code, without the preamble (for finding copies: many
        functions of one module share a preamble)."""
        return ProblemRecord(self.id, self.source, self.prompt, [self.function_source], [], self.function)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "module": self.module,
            "function": self.function,
            "prompt": self.prompt,
            "preamble": self.preamble,
            "function_source": self.function_source,
            "doctests": self.doctests,
            "calls": [c.key for c in self.calls],
            "fallback": [c.key for c in self.fallback],
        }


@dataclass(frozen=True)
class Rejected:
    source: str
    function: str
    reason: str


def _with_module_names(test: str, scope: ModuleScope, alone: Standalone, function: str) -> str:
    """`test` with imports of the module names it uses that neither it nor the preamble binds
    (doctest runs examples among the module's globals: `Counter` in statistics' examples)."""
    tree = ast.parse(test)
    known = _bound(tree) | _bound(ast.parse(alone.preamble)) | {function}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    lines = sorted({line for name in used - known if not hasattr(builtins, name) and (line := scope.import_of(name))})
    return "\n".join([*lines, test.rstrip("\n")]) + "\n" if lines else test


def _bound(tree: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    names |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    return names | {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}


def mine(files: Sequence[ModuleFile], seed: int = 0) -> Iterator[Candidate | Rejected]:
    """Candidates and rejections of every documented top-level function, file by file."""
    for file in files:
        try:
            scope = ModuleScope(file.path.read_text(encoding="utf-8"), file.name, file.is_package, file.stdlib)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in scope.tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("__") and ast.get_docstring(node):
                yield candidate(node, scope, seed)


def candidate(node: ast.FunctionDef, scope: ModuleScope, seed: int = 0) -> Candidate | Rejected:
    doc = ast.get_docstring(node) or ""
    found = doctest_tests(doc, node.name) if ">>>" in doc else None
    source = DOCTEST if found is not None and found.tests else DOCSTRING
    if not all(ast.unparse(d.func if isinstance(d, ast.Call) else d) in CACHES for d in node.decorator_list):
        return Rejected(source, node.name, "decorated")
    if hasattr(builtins, node.name):
        return Rejected(source, node.name, "named like a builtin")
    if source == DOCSTRING and len(doc) < MIN_STATEMENT_CHARS:
        return Rejected(source, node.name, "docstring too short to state a problem")
    if scope.function(node.name) is not node:
        return Rejected(source, node.name, "redefined later in its module")
    try:
        alone = scope.standalone(node)
    except NotStandalone as exc:
        return Rejected(source, node.name, str(exc))
    if len(alone.function) > MAX_SOURCE_CHARS:
        return Rejected(source, node.name, "function too long")
    signature = signature_of(alone.function, node.name)
    if signature is None:
        return Rejected(source, node.name, "signature not on its own lines")
    tests = [_with_module_names(t, scope, alone, node.name) for t in found.tests] if found is not None else []
    calls = variations_of(found.seeds, MAX_CALLS, seed) if found is not None else []
    fallback: list[Call] = []
    if len(calls) < MIN_VARIED_CALLS:  # too few literal examples to vary: probe, and vary the probes
        default = defaults_call(node)
        seeds = probes(node, MAX_PROBES, seed) + ([default] if default is not None else [])
        calls += seeds + variations_of(seeds, MAX_CALLS - len(calls) - len(seeds), seed)
        mixed = probes(node, MAX_PROBES, seed, mixed=True)
        if {c.key for c in mixed} - {c.key for c in seeds}:
            fallback = mixed + variations_of(mixed, MAX_CALLS - len(mixed), seed)
    if not tests and not calls:
        return Rejected(source, node.name, "no inputs to run it on")
    prompt = docstring_function(signature, doc)
    return Candidate(source, scope.name, node.name, prompt, alone.preamble, alone.function, tests, calls, fallback)

"""The work that reads or writes the target's tests file (on the worker thread).

`generate_tests` is the compute of o1coder.generateTests: new tests, run against the current
code, appended to the tests file (created when missing), the failing ones marked xfail and
shown as diagnostics. `user_tests_of` gives o1coder.implement the user's own tests of the
target. Both read the tests file from the snapshot when the editor has it open, else from disk.
The text itself is built by the pure tests_file module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import from_fs_path

from o1coder.engine.types import CancelToken, ProgressCallback, ProgressEvent
from o1coder.lsp import edits, tests_file
from o1coder.lsp.targets import FunctionTarget
from o1coder.lsp.text import utf16_len
from o1coder.lsp.work_types import Outcome, Snapshot, WorkError, what
from o1coder.sandbox.types import TestCase

if TYPE_CHECKING:
    from o1coder.engine.problem import Problem
    from o1coder.lsp.engine_factory import WorkEngine


def user_tests_of(snapshot: Snapshot) -> list[TestCase]:
    """The user's tests of the target in its tests file (open in the editor, or on disk)."""
    target = snapshot.target
    if not isinstance(target, FunctionTarget) or snapshot.path is None:
        return []
    if snapshot.tests_doc is not None:
        text = snapshot.tests_doc[2]
    else:
        path = edits.tests_file_for(snapshot.path, snapshot.root)
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
        except (OSError, UnicodeDecodeError):
            text = ""
    module = edits.import_line(snapshot.path, snapshot.root, ["x"], False).split()[1]
    names = {module, snapshot.path.stem}
    return tests_file.user_tests(text, target.name.split(".")[-1], names)


def generate_tests(
    snapshot: Snapshot, engine: WorkEngine, problem: Problem, token: CancelToken, progress: ProgressCallback
) -> Outcome:
    target = snapshot.target
    if not isinstance(target, FunctionTarget):
        raise WorkError("Generate tests works on a function: put the cursor inside one")
    if snapshot.path is None:
        raise WorkError("Generate tests needs a file on disk: save the document first")
    tests = engine.generate_tests(problem, progress=progress, cancel=token)
    if not tests:
        raise WorkError(f"the test generator wrote no usable tests for {what(target)}: try again")
    token.raise_if_cancelled()
    progress(ProgressEvent(phase="verify", tests_total=len(tests), message="running against the current code"))
    report = engine.verifier(engine.program_for(problem, target.source), tests, snapshot.workspace(problem))
    token.raise_if_cancelled()

    test_path = edits.tests_file_for(snapshot.path, snapshot.root)
    beside = test_path.parent == snapshot.path.parent
    import_line = edits.import_line(snapshot.path, snapshot.root, [target.name.split(".")[-1]], beside)
    test_uri = from_fs_path(str(test_path)) or test_path.as_uri()
    outcome = Outcome(changes=[], summary="", guards=[])
    if snapshot.tests_doc is not None:
        test_uri, test_version, existing = snapshot.tests_doc
        outcome.guards.append((test_uri, test_version))
        new_file = False
    elif test_path.exists():
        existing, test_version, new_file = test_path.read_text(encoding="utf-8"), None, False
    else:
        existing, test_version, new_file = "", None, True
    addition = tests_file.build_addition(tests, report, target.name, import_line, existing)
    edit, _first = edits.append_edit(existing, addition.text)
    final_text = edits.apply_text_edits(existing, [edit])
    if new_file and not snapshot.can_create_files:
        outcome.write_file = (test_path, final_text)
    else:
        if new_file:
            outcome.changes.append(
                types.CreateFile(uri=test_uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True))
            )
        outcome.changes.append(edits.document_edit(test_uri, test_version, [edit]))
    lines = tests_file.def_lines(final_text, addition.names)
    outcome.diagnostics[test_uri] = [
        types.Diagnostic(
            range=types.Range(
                start=types.Position(line=lines[name], character=0),
                end=types.Position(line=lines[name], character=utf16_len(final_text.split("\n")[lines[name]])),
            ),
            message=f"fails against the current implementation of {target.name}: {why}",
            severity=types.DiagnosticSeverity.Warning,
            source="o1coder",
        )
        for name, why in addition.failing.items()
        if name in lines
    ]
    rel = test_path.name if snapshot.root is None else _relative(test_path, snapshot.root)
    failing = len(addition.failing)
    outcome.summary = f"wrote {len(addition.names)} tests for {target.name} to {rel}" + (
        f"; {failing} fail against the current implementation (marked xfail)" if failing else "; all pass"
    )
    outcome.extra = {
        "testsFile": test_uri,
        "tests": addition.names,
        "failing": sorted(addition.failing),
        "testsTotal": len(addition.names),
        "testsPassing": len(addition.names) - failing,
    }
    return outcome


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)

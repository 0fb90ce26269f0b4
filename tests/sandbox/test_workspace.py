"""The user's project in the sandbox: importable, read-only, its tests hidden from the candidate."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_helpers import LIMITS, statuses

from o1coder.sandbox import TestCase, Workspace, run_tests


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """pyproject.toml, a package with a helper module and a module that imports it two ways, tests."""
    root = tmp_path / "proj"
    (root / "shapes").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'shapes'\n")
    (root / "shapes" / "__init__.py").write_text("")
    (root / "shapes" / "util.py").write_text("FACTOR = 3\n\n\ndef triple(x):\n    return x * FACTOR\n")
    (root / "shapes" / "core.py").write_text(
        "from shapes.util import triple\nfrom .util import FACTOR\n\n\ndef nine(x):\n    pass\n"
    )
    (root / "tests" / "test_core.py").write_text("def test_nine():\n    assert nine(1) == 9  # EXPECTED-MARKER\n")
    (root / "shapes" / "test_inline.py").write_text("EXPECTED = 9  # EXPECTED-MARKER\n")
    return root


def test_the_workspace_is_found_from_the_module(project: Path):
    ws = Workspace.for_module(project / "shapes" / "core.py")
    assert ws.root == project.resolve()
    assert ws.import_paths == (project.resolve(), (project / "shapes").resolve())
    assert ws.module_name == "shapes.core" and not ws.is_package
    assert set(ws.hidden) == {(project / "tests").resolve(), (project / "shapes" / "test_inline.py").resolve()}


def test_the_module_runs_as_itself_with_its_package_importable(project: Path, isolation):
    module = project / "shapes" / "core.py"
    code = module.read_text().replace("    pass\n", "    return triple(triple(x)) * FACTOR // 3\n")
    code += (
        "\n\ndef peek(path):\n    try:\n        return open(path).read()\n    except OSError as exc:\n"
        "        return type(exc).__name__\n\n\ndef scribble(path):\n    open(path, 'w').write('x')\n"
    )
    tests = [
        TestCase("imports", "assert nine(2) == 18"),
        TestCase("tests_dir", f"assert 'EXPECTED-MARKER' in peek({str(project / 'tests' / 'test_core.py')!r})"),
        TestCase("tests_file", f"assert 'EXPECTED-MARKER' in peek({str(project / 'shapes' / 'test_inline.py')!r})"),
        TestCase("source_read", f"assert 'def triple' in peek({str(project / 'shapes' / 'util.py')!r})"),
        TestCase("read_only", f"def test_write():\n    scribble({str(project / 'shapes' / 'util.py')!r})\n"),
    ]
    report = run_tests(code, tests, LIMITS, workspace=Workspace.for_module(module))
    assert statuses(report) == ["passed", "failed", "failed", "passed", "error"], report.outcomes
    assert "def triple" in (project / "shapes" / "util.py").read_text()  # unharmed
    if "file view" in isolation:
        assert "the workspace " in report.isolation and "tests files and folders hidden" in report.isolation


def test_without_the_workspace_the_package_does_not_import(project: Path):
    code = (project / "shapes" / "core.py").read_text()
    report = run_tests(code, [TestCase("t", "assert nine(1) is None")], LIMITS)
    assert not report.compiled and "ModuleNotFoundError" in report.error

"""The models layer sits below the engine: it imports nothing from the layers above it, and
its own modules import each other without cycles.

Cancellation lives in `o1coder.cancel`, a leaf both layers use; the engine re-exports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server" / "o1coder"
ABOVE = ("o1coder.engine", "o1coder.lsp", "o1coder.commands", "o1coder.cli", "o1coder_train")


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (relative imports resolved)."""
    package = "o1coder." + ".".join(path.relative_to(SERVER).parent.parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            out.add(".".join(p for p in (base, node.module or "") if p))
    return out


def test_the_models_layer_imports_nothing_above_it() -> None:
    wrong = {
        f"{path.name}: {module}"
        for path in sorted((SERVER / "models").glob("*.py"))
        for module in imported_modules(path)
        if module.startswith(ABOVE)
    }
    assert not wrong, wrong


def test_cancel_is_a_leaf() -> None:
    assert not {m for m in imported_modules(SERVER / "cancel.py") if m.startswith("o1coder")}


def test_the_engine_re_exports_cancellation() -> None:
    from o1coder import cancel
    from o1coder.engine import types

    assert types.CancelToken is cancel.CancelToken and types.Cancelled is cancel.Cancelled


def models_imported_by(path: Path) -> set[str]:
    """The modules of o1coder.models that `path` imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "o1coder.models":
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("o1coder.models."):
            out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[2] for a in node.names if a.name.startswith("o1coder.models."))
    return out


def test_the_models_modules_import_each_other_without_cycles() -> None:
    graph = {path.stem: models_imported_by(path) for path in (SERVER / "models").glob("*.py")}
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, " -> ".join((*trail, module))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*trail, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())

"""The VS Code extension (editor-clients/vscode): settings in step with the server, type check,
unit tests (node's test runner), esbuild bundle and .vsix package, through its npm scripts.

Needs Node 20+ and npm, and node_modules (`make vscode` runs npm ci; `make test` does it first):
the tests that need it skip without it, so no test downloads packages.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
VSCODE = REPO / "editor-clients" / "vscode"
VSIX = VSCODE / f"o1coder-{json.loads((VSCODE / 'package.json').read_text())['version']}.vsix"  # vsce's name


def npm(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> str:
    exe = shutil.which("npm")
    if exe is None:
        pytest.fail("npm not found: the VS Code extension needs Node 20+ and npm")
    proc = subprocess.run(
        [exe, *args],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"npm {' '.join(args)} exited {proc.returncode}:\n{output[-6000:]}"
    return output


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if not (VSCODE / "node_modules" / ".package-lock.json").exists():
        pytest.skip("the extension's node_modules is missing: run `make vscode` (npm ci in editor-clients/vscode)")
    return VSCODE / "node_modules"


def load_sync_settings() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_settings", VSCODE / "scripts" / "sync_settings.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- settings vs o1coder.config


def test_package_json_settings_match_the_server() -> None:
    proc = subprocess.run(
        [sys.executable, str(VSCODE / "scripts" / "sync_settings.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_server_setting_is_contributed_with_its_default() -> None:
    Settings = load_sync_settings().config.Settings  # o1coder.config, from the checkout if not installed

    properties = json.loads((VSCODE / "package.json").read_text())["contributes"]["configuration"][
        "properties"
    ]
    expected = {}
    for section, values in Settings().to_dict().items():
        for key, default in values.items():
            expected[f"o1coder.{section}.{key}"] = default
    contributed = {
        key: p["default"] for key, p in properties.items() if key.split(".")[1] not in ("server", "trace")
    }
    assert contributed == expected
    for key in expected:
        assert len(properties[key]["description"]) > 10, key


def test_sync_settings_catches_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_sync_settings()
    assert module.problems() == []

    # a bound the server does not enforce is caught by probing Settings.from_dict
    wrong = dict(module.DOCS)
    wrong["models.threads"] = module.Doc("threads", minimum=2, maximum=256)
    monkeypatch.setattr(module, "DOCS", wrong)
    assert any("models.threads=1" in p for p in module.problems())

    # a server setting without a description is caught
    missing = dict(module.DOCS)
    del missing["search.seed"]
    monkeypatch.setattr(module, "DOCS", missing)
    assert "search.seed: no description in DOCS" in module.problems()

    # a stale package.json (a setting's default, the version) fails --check, and the script rewrites it
    monkeypatch.setattr(module, "DOCS", load_sync_settings().DOCS)
    package = json.loads((VSCODE / "package.json").read_text())
    package["contributes"]["configuration"]["properties"]["o1coder.search.budgetTokens"]["default"] = 1234
    package["version"] = "9.9.9"
    stale = tmp_path / "package.json"
    stale.write_text(json.dumps(package, indent=2) + "\n")
    monkeypatch.setattr(module, "PACKAGE_JSON", stale)
    assert module.main(["--check"]) == 1
    assert module.main([]) == 0
    assert module.main(["--check"]) == 0
    assert json.loads(stale.read_text()) == json.loads((VSCODE / "package.json").read_text())
    assert json.loads(stale.read_text())["version"] == module.o1coder.__version__


# ---------------------------------------------------------------- npm scripts


def test_typecheck(node_modules: Path) -> None:
    npm("run", "typecheck")


def test_unit_tests(node_modules: Path) -> None:
    output = npm("test")
    assert "# fail 0" in output, output[-3000:]
    passed = int(output.split("# pass ")[1].split()[0])
    assert passed >= 25, output[-3000:]


@pytest.mark.model  # no model work, but the server reports the default model's status: it must be installed
def test_contract_with_the_real_server(node_modules: Path, o1coder_server: Any) -> None:
    """test-server/contract.test.ts: the settings the extension sends and the replies it parses,
    against the real `o1coder serve` (no model work; showModels must find the default model installed)."""
    output = npm(
        "run",
        "test:server",
        env={**o1coder_server.env, "O1CODER_SERVER_COMMAND": json.dumps(o1coder_server.cmd)},
    )
    assert "# fail 0" in output, output[-3000:]
    assert "# pass 7" in output, output[-3000:]


def test_build_and_package(node_modules: Path) -> None:
    npm("run", "build")
    bundle = (VSCODE / "dist" / "extension.js").read_text()
    assert 'require("vscode")' in bundle
    assert 'require("vscode-languageclient' not in bundle, "vscode-languageclient must be bundled"

    VSIX.unlink(missing_ok=True)
    npm("run", "package")
    assert VSIX.is_file()
    with zipfile.ZipFile(VSIX) as vsix:
        names = set(vsix.namelist())
        assert {"extension/package.json", "extension/dist/extension.js", "extension/readme.md"} <= names, (
            names
        )
        assert not any(name.startswith("extension/node_modules/") for name in names)
        assert not any(name.startswith("extension/src/") for name in names)
        shipped = json.loads(vsix.read("extension/package.json"))
        packaged_bundle = vsix.read("extension/dist/extension.js").decode()
    assert shipped["contributes"] == json.loads((VSCODE / "package.json").read_text())["contributes"]
    assert shipped["main"] == "./dist/extension.js"
    assert "o1coder.client.implement" in packaged_bundle

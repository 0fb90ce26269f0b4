"""The plugin installs the ways editor-clients/nvim/README.md says, in a real headless Neovim 0.11.

Each spec is copied from the README (its `~/src/o1-coder` clone replaced by this checkout), so
the README cannot drift from what works. Native packages and `runtimepath` are loaded by Neovim
itself at startup, from an isolated XDG home (no --clean: that would skip the packages);
lazy.nvim and packer are not installed here, so tests/clients/nvim/install.lua does what they
do with the spec. The last test installs the wheel (unzipped: it is pure Python) and points
Neovim at the folder `o1coder editor-path nvim` prints there. No server is started.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from packaging_helpers import Dists, installed_editor_path, unpack_wheel
from test_nvim import SCRIPTS, nvim_binary

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editor-clients" / "nvim"
README = (PLUGIN / "README.md").read_text()
CLONE = "~/src/o1-coder"  # the README's clone


def readme_block(after: str, language: str) -> str:
    """The first ```language block after the line `after` in the README."""
    at = README.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(README, at)
    assert match, f"no {language} block after {after!r}"
    return match.group(1)


def from_clone(text: str, folder: Path = PLUGIN) -> str:
    """The README's text with this checkout (or `folder`) in place of the user's clone."""
    assert f"{CLONE}/editor-clients/nvim" in text, text
    return text.replace(f"{CLONE}/editor-clients/nvim", str(folder))


def run_installed(tmp_path: Path, params: dict[str, Any], init: str = "") -> dict[str, Any]:
    """Starts Neovim as a user would (its own init.lua, its packages), with an isolated XDG home,
    then runs install.lua; returns its result."""
    home = {name: tmp_path / name.lower() for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")}
    (home["XDG_CONFIG_HOME"] / "nvim").mkdir(parents=True, exist_ok=True)
    (home["XDG_CONFIG_HOME"] / "nvim" / "init.lua").write_text(init)
    params_file, result_file = tmp_path / "params.json", tmp_path / "result.json"
    params_file.write_text(json.dumps(params))
    env = {
        **os.environ,
        **{name: str(path) for name, path in home.items()},
        "O1CODER_TEST_PARAMS": str(params_file),
        "O1CODER_TEST_RESULT": str(result_file),
    }
    argv = [nvim_binary(), "--headless", "-i", "NONE", "-c", f"luafile {SCRIPTS / 'install.lua'}"]
    proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    if not result_file.exists():
        pytest.fail(f"install.lua wrote no result:\n{proc.stdout}{proc.stderr}")
    result = json.loads(result_file.read_text())
    if not result.get("ok"):
        pytest.fail(f"install.lua failed: {result.get('error')}\n{json.dumps(result, indent=1)}")
    return result


def assert_loaded_from(result: dict[str, Any], folder: Path) -> None:
    assert result["command_defined"], result
    assert Path(result["runtime_init"]).resolve() == (folder / "lua" / "o1coder" / "init.lua").resolve()
    assert Path(result["runtime_lsp"]).resolve() == (folder / "lsp" / "o1coder.lua").resolve()
    assert result["configured"] and result["start_autocmds"] >= 1
    assert result["options_cmd"] == ["o1coder", "serve"]
    assert result["lsp_config_cmd"] == ["o1coder", "serve"]  # lsp/o1coder.lua sees setup()'s options


def test_native_package(tmp_path: Path) -> None:
    shell = readme_block("**Native packages**", "sh")
    assert "mkdir -p ~/.local/share/nvim/site/pack/o1coder/start" in shell
    assert f"ln -s {CLONE}/editor-clients/nvim ~/.local/share/nvim/site/pack/o1coder/start/o1coder" in shell
    init = readme_block("then in `init.lua`:", "lua")
    start = tmp_path / "xdg_data_home" / "nvim" / "site" / "pack" / "o1coder" / "start"
    start.mkdir(parents=True)
    (start / "o1coder").symlink_to(PLUGIN)  # the README's ln -s, into this test's data home
    result = run_installed(tmp_path, {"mode": "startup"}, init=init)
    assert result["command_before"]  # Neovim loaded plugin/ itself
    assert_loaded_from(result, start / "o1coder")


def test_runtimepath(tmp_path: Path) -> None:
    init = from_clone(readme_block("**`runtimepath`**", "lua"))
    result = run_installed(tmp_path, {"mode": "startup"}, init=init)
    assert result["command_before"]
    assert_loaded_from(result, PLUGIN)


def test_lazy_nvim_spec(tmp_path: Path) -> None:
    spec = from_clone(readme_block("**lazy.nvim**", "lua"))
    result = run_installed(tmp_path, {"mode": "lazy", "spec": spec})
    assert not result["command_before"]
    assert result["spec_name"] == "o1coder" and result["spec_ft"] == "python"
    assert_loaded_from(result, PLUGIN)
    assert result["options_settings"] == {"search": {"strategy": "mcts", "budgetTokens": 3000}}


def test_packer_spec(tmp_path: Path) -> None:
    spec = from_clone(readme_block("**packer.nvim**", "lua"))
    result = run_installed(tmp_path, {"mode": "packer", "spec": spec})
    assert result["spec_name"] == "o1coder" and result["spec_ft"] == "python"
    assert_loaded_from(result, PLUGIN)


@pytest.mark.slow
def test_lazy_nvim_spec_with_the_plugin_from_the_wheel(built_dists: Dists, tmp_path: Path) -> None:
    """Only the wheel installed, no clone: lazy.nvim's `dir` is what `o1coder editor-path nvim` prints."""
    site = unpack_wheel(built_dists.wheel, tmp_path / "site")
    proc = installed_editor_path(site, tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip())
    assert folder.is_relative_to(site), folder
    spec = from_clone(readme_block("**lazy.nvim**", "lua"), folder)
    result = run_installed(tmp_path, {"mode": "lazy", "spec": spec})
    assert_loaded_from(result, folder)

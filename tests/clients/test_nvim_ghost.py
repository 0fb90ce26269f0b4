"""Ghost text in a real headless Neovim 0.11 with the real server and the real default model.

Keys are typed into insert mode (tests/clients/nvim/ghost.lua drives Neovim's main loop) and
the plugin's extmarks are watched. Waits are on real conditions with generous timeouts that
report what they saw; no test asserts a duration or the model's exact tokens.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_nvim import project, run_nvim

# A function with its signature and docstring; the test types its body.
SIGNATURE = '''\
def add_numbers(a: int, b: int) -> int:
    """Return the sum of a and b."""
'''
DOCSTRING_LINE = 1  # `o` here opens the body's first line

# The model's first call loads it (seconds) and prefills the file: generous on a busy 2-core machine.
WAIT_MS = 240_000


def type_in_body(
    tmp_path: Path, server: Any, mode: str, timeout: int, setup: dict | None = None, **waits: int
) -> tuple[Path, dict[str, Any]]:
    """Open the function's file in Neovim, type `return ` as its body's first line in `mode`
    (tests/clients/nvim/ghost.lua); the file, and what the script saw."""
    path = project(tmp_path, SIGNATURE)
    return path, run_nvim(
        tmp_path,
        "ghost.lua",
        {
            "mode": mode,
            "setup": {"cmd": server.cmd, **(setup or {})},
            "file": str(path),
            "line": DOCSTRING_LINE,
            "keys": "return ",
            "gap_ms": 60,
            **waits,
        },
        timeout=timeout,
        server=server,
    )


def server_log(tmp_path: Path) -> str:
    log = tmp_path / "state" / "o1coder" / "log" / "server.log"
    return log.read_text() if log.exists() else ""


@pytest.mark.model
@pytest.mark.slow
def test_typing_shows_ghost_text_and_the_key_accepts_it_into_compiling_code(
    tmp_path: Path, o1coder_server: Any
) -> None:
    path, result = type_in_body(tmp_path, o1coder_server, "accept", 600, wait_ms=WAIT_MS)
    assert result["attached"] and result["tab_mapping"] and not result["native"]
    assert result["typed_line"] == "    return ", result["typed_line"]  # Python's indent, then the keys
    [mark] = result["marks"]
    assert mark["row"] == DOCSTRING_LINE + 1 and mark["col"] == len("    return "), mark
    shown = result["shown"]
    assert shown == result["ghost_text"] and shown.strip(), result
    assert result["mode_when_shown"].startswith("i")
    # accepted: the line is what was typed and what was shown, the cursor after it
    accepted_line = "    return " + shown
    assert accepted_line in result["after_accept"], result["after_accept"]
    assert result["marks_after"] == 0
    # written to disk: compiles, and holds what was shown
    text = path.read_text()
    assert text == result["text"]
    assert accepted_line in text, text
    subprocess.run([sys.executable, "-m", "py_compile", str(path)], check=True)
    namespace: dict[str, Any] = {}
    exec(compile(text, str(path), "exec"), namespace)
    assert callable(namespace["add_numbers"])
    assert "ghost text in " in server_log(tmp_path)


@pytest.mark.model
@pytest.mark.slow
def test_typing_clears_ghost_text_and_cancels_the_request_in_flight(tmp_path: Path, o1coder_server: Any) -> None:
    _, result = type_in_body(tmp_path, o1coder_server, "cancel", 600, wait_ms=WAIT_MS)
    assert result["shown"]
    # the key typed over the ghost text removed its marks at once (before any new answer)
    assert result["marks_after_typing"] == 0 and result["visible_after_typing"] is False
    # typing, then <Esc>, each cancelled the request then in flight ($/cancelRequest)
    assert result["cancelled_by_typing"] in result["cancelled"]
    assert result["cancelled_by_esc"] in result["cancelled"]
    assert result["marks_after_esc"] == 0 and result["in_flight_after_esc"] is False
    # the server received both cancels; whether each still found the model working is timing
    # (a 0.5 s answer may already be on its way), so the log line for either outcome counts
    log = server_log(tmp_path)
    for request_id in (result["cancelled_by_typing"], result["cancelled_by_esc"]):
        assert f"$/cancelRequest {request_id}: " in log, log
    # every request while typing is Automatic (2), at the cursor
    assert {r["trigger"] for r in result["requests"]} == {2}
    # with nothing shown, <Tab> kept its meaning: the indent plugin inserted blanks
    before, after = result["tab_line_before"], result["tab_line_after"]
    assert after.startswith(before) and len(after) > len(before) and not after[len(before) :].strip(), (before, after)


def test_the_setting_turns_ghost_text_off(tmp_path: Path, o1coder_server: Any) -> None:
    """No model work: with ghost text off nothing is asked for, whatever is typed."""
    setup = {"ghost_text": {"enabled": False}}
    _, result = type_in_body(tmp_path, o1coder_server, "disabled", 120, setup, quiet_ms=1500)  # 15 debounce periods
    assert result["attached"] is False and result["tab_mapping"] is False
    assert result["requests_when_disabled"] == 0 and result["marks_when_disabled"] == 0
    assert result["tab_line"].startswith("    return ") and not result["tab_line"][len("    return ") :].strip()
    # :O1coder ghost on / off at run time
    assert result["attached_after_on"] is True and result["tab_mapping_after_on"] is True
    assert result["attached_after_off"] is False and result["tab_mapping_after_off"] is False

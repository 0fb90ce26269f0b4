"""Settings over the real server (FAKE engine, no model): one error per bad settings change,
naming every bad key, however many routes the same settings arrive by.

An editor sends its settings at startup three ways: initializationOptions, the answer to the
server's workspace/configuration request, and a didChangeConfiguration notification (Neovim does
all three). The valid settings apply; each bad one keeps its previous value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_engine import write_script
from lsp_harness import EditorClient, fake_engine_server, initialize_params
from lsprotocol import types

pytestmark = pytest.mark.asyncio

BAD = {
    "search": {"budgetTokens": "lots", "stratgy": "mcts", "strategy": "greedy", "temperature": 0.3},
    "models": {"threads": 0},
}
BAD_KEYS = ("o1coder.search.budgetTokens", "o1coder.search.stratgy", "o1coder.models.threads")


def errors(client: EditorClient) -> list[str]:
    return [m.message for m in client.messages if m.type == types.MessageType.Error]


async def logged(client: EditorClient, text: str, count: int = 1) -> None:
    await client.wait_for(lambda: sum(text in line for line in client.log_lines()) >= count, timeout=60)


def change(client: EditorClient, section: dict[str, Any]) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"o1coder": section}))


async def test_the_same_bad_settings_by_three_routes_give_one_error_naming_every_bad_key(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, code="")
    params = initialize_params(tmp_path, options=BAD, configuration=True)
    async with fake_engine_server(tmp_path, script, params, configuration=BAD) as client:
        await logged(client, "rejected settings from workspace/configuration")
        change(client, BAD)
        await logged(client, "rejected settings from workspace/didChangeConfiguration")
        [error] = errors(client)
        for key in BAD_KEYS:
            assert key in error, error
        assert "expected int, got 'lots'" in error and "unknown setting" in error
        assert "must be between 1 and 256, got 0" in error and "3 invalid settings" in error
        # the valid ones applied, once
        [applied] = [line for line in client.log_lines() if "changed" in line and "settings from" in line]
        assert "settings from initializationOptions: search.strategy, search.temperature changed" in applied

        # another bad value is a new bad change: one more error, again naming every bad key
        change(client, {**BAD, "models": {"threads": 500}})
        await logged(client, "rejected settings from workspace/didChangeConfiguration", 2)
        assert len(errors(client)) == 2
        assert "got 500" in errors(client)[1] and all(key in errors(client)[1] for key in BAD_KEYS)

        # a change beside the same bad values applies, without repeating the error
        change(client, {**BAD, "models": {"threads": 500}, "sandbox": {"timeoutSeconds": 2}})
        await logged(client, "sandbox.timeoutSeconds changed")
        assert len(errors(client)) == 2

        # fixed: applied, no error; broken again the same way: reported again
        change(client, {"search": {"budgetTokens": 400}, "models": {"threads": 2}})
        await logged(client, "search.budgetTokens changed")
        change(client, {"search": {"budgetTokens": "lots"}})
        await logged(client, "rejected settings from workspace/didChangeConfiguration", 4)
        assert len(errors(client)) == 3
        assert errors(client)[2].startswith("o1coder: invalid setting o1coder.search.budgetTokens: expected int")


async def test_valid_settings_by_every_route_give_no_error(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, code="")
    good = {"search": {"strategy": "greedy"}}
    params = initialize_params(tmp_path, options=good, configuration=True)
    async with fake_engine_server(tmp_path, script, params, configuration=good) as client:
        change(client, good)
        change(client, {"search": {"strategy": "best-of-n"}})
        await logged(client, "search.strategy changed", 2)
        assert errors(client) == []

"""End-to-end over stdio without model work: startup, listing, settings, errors.

The server is the real one (`python -m o1coder.lsp`); nothing in it is replaced. It checks the
default model's file at start, so the tests that assert on model status or on the only error
shown carry the `model` marker (the model must be installed, though nothing loads it).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest
from lsp_harness import (
    CONFIG,
    SERVER_COMMAND,
    STUB_MODULE,
    EditorClient,
    initialize_params,
    long_module,
    send_raw,
    summary_ms,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

WORK_COMMANDS = ["o1coder.plan", "o1coder.refine", "o1coder.implement", "o1coder.generateTests"]
pytestmark = pytest.mark.asyncio

ALL_COMMANDS = [*WORK_COMMANDS, "o1coder.cancel", "o1coder.showModels", "o1coder.showTree", "o1coder.retry"]


def code_action_params(uri: str, line: int, character: int = 4) -> types.CodeActionParams:
    position = types.Position(line=line, character=character)
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=position, end=position),
        context=types.CodeActionContext(diagnostics=[]),
    )


@pytest.mark.model  # no model work, but the server reports the default model's status: it must be installed
async def test_initialize_advertises_features_and_loads_no_model(client: EditorClient, tmp_path: Path) -> None:
    assert client.initialize_result is not None
    print(f"initialize answered {client.initialize_seconds * 1000:.0f} ms after the request (process start included)")
    capabilities = client.initialize_result.capabilities
    assert sorted(capabilities.execute_command_provider.commands) == sorted(ALL_COMMANDS)
    assert capabilities.code_action_provider.resolve_provider is True
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    models = await client.execute("o1coder.showModels")
    assert [r["role"] for r in models["roles"]] == ["policy", "prm", "tcg"]
    assert not any(r["loaded"] for r in models["roles"])  # lazy: nothing loaded by initialize
    assert all(r["error"] is None for r in models["roles"]), models


async def test_code_action_titles_and_listing_latency(client: EditorClient, tmp_path: Path) -> None:
    text = long_module()
    assert len(text.splitlines()) >= 1900
    uri = client.open(tmp_path / "big.py", text)
    lines = text.split("\n")
    stub_lines = [i for i, line in enumerate(lines) if line.startswith("def stub_")]
    plain_lines = [i for i, line in enumerate(lines) if line.startswith("def f_")]

    actions = await client.text_document_code_action_async(code_action_params(uri, stub_lines[-1] + 2))
    assert [a.title for a in actions] == ["Plan in pseudocode", "Implement with search", "Generate tests"]
    assert all(a.command is None and a.data["arguments"]["version"] == 1 for a in actions)  # resolved lazily
    resolved = await client.code_action_resolve_async(actions[1])
    assert resolved.command.command == "o1coder.implement"
    expected = {"uri": uri, "position": {"line": stub_lines[-1] + 2, "character": 4}, "version": 1}
    assert list(resolved.command.arguments) == [expected]
    implemented = await client.text_document_code_action_async(code_action_params(uri, plain_lines[-1] + 1))
    assert [a.title for a in implemented] == ["Generate tests"]

    timings = []
    for i in range(200):
        line = (stub_lines + plain_lines)[(i * 7) % (len(stub_lines) + len(plain_lines))] + 1
        started = time.perf_counter()
        await client.text_document_code_action_async(code_action_params(uri, line))
        timings.append((time.perf_counter() - started) * 1000)
    stats = summary_ms(timings)
    print("code action listing, idle server, client round trip (ms):", stats)
    assert stats["n"] == 200  # every request answered; the latency target lives in benchmarks/bench_lsp.py


async def test_malformed_params_and_unknown_commands_get_errors(client: EditorClient, tmp_path: Path) -> None:
    uri = client.open(tmp_path / "m.py", STUB_MODULE)
    with pytest.raises(JsonRpcException, match="not defined"):
        await client.execute("o1coder.noSuchCommand")
    with pytest.raises(JsonRpcInvalidParams, match="takes one argument"):
        await client.execute("o1coder.implement")
    with pytest.raises(JsonRpcInvalidParams, match="`position`"):
        await client.execute("o1coder.implement", {"uri": uri, "position": {"line": "one"}})
    with pytest.raises(JsonRpcInvalidParams, match="`uri`"):
        await client.execute("o1coder.plan", {"position": {"line": 0, "character": 0}})
    with pytest.raises(JsonRpcInvalidParams, match="cancel takes"):
        await client.execute("o1coder.cancel", 42)
    with pytest.raises(JsonRpcException, match="(?i)method not found"):
        await send_raw(client, "o1coder/noSuchMethod", {"x": 1})
    with pytest.raises(JsonRpcException):
        await send_raw(client, types.TEXT_DOCUMENT_CODE_ACTION, {"textDocument": {"uri": 5}})
    with pytest.raises(JsonRpcException):
        await send_raw(client, types.WORKSPACE_EXECUTE_COMMAND, {"command": 12, "arguments": "x"})

    # A valid request on something with nothing to do answers with the reason, no edit.
    nothing = await client.execute("o1coder.implement", client.work_args(uri, 9, 0, version=1))
    assert nothing["applied"] is False and "nothing to work on at line 10" in nothing["reason"]
    outside = await client.execute("o1coder.refine", client.work_args(uri, 1, 4))
    assert outside["applied"] is False and "no plan comments" in outside["reason"]
    past_end = await client.execute("o1coder.plan", client.work_args(uri, 500, 0))
    assert past_end["applied"] is False and "past the end" in past_end["reason"]
    closed = await client.execute("o1coder.plan", client.work_args((tmp_path / "nope.py").as_uri(), 0))
    assert closed["applied"] is False and "open it first" in closed["reason"]
    nothing_to_retry = await client.execute("o1coder.retry")
    assert nothing_to_retry["applied"] is False and "nothing to retry" in nothing_to_retry["reason"]
    assert await client.execute("o1coder.cancel") == {"cancelled": []}

    # ...and the server keeps answering.
    actions = await client.text_document_code_action_async(code_action_params(uri, 8))
    assert [a.title for a in actions] == ["Plan in pseudocode", "Implement with search", "Generate tests"]
    assert client.edit_requests == []


async def test_a_stale_version_is_refused_before_any_work(client: EditorClient, tmp_path: Path) -> None:
    uri = client.open(tmp_path / "m.py", STUB_MODULE)
    client.change(uri, STUB_MODULE + "\n")
    refused = await client.execute("o1coder.implement", client.work_args(uri, 8, version=1))
    assert refused["applied"] is False and refused["stale"] is True
    assert refused["retry"] == {"command": "o1coder.retry", "arguments": [{"uri": uri}]}
    request = await client.wait_for(lambda: client.message_requests)
    assert "changed" in request[0].message and [a.title for a in request[0].actions] == ["Retry"]
    assert client.edit_requests == []


@pytest.mark.model  # no model work, but the server reports the default model's status: it must be installed
async def test_invalid_settings_are_named_and_the_previous_ones_kept(client: EditorClient, tmp_path: Path) -> None:
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"o1coder": {"search": {"budgetTokens": "lots"}}})
    )
    shown = await client.wait_for(lambda: [m for m in client.messages if m.type == types.MessageType.Error])
    assert "o1coder.search.budgetTokens" in shown[0].message and "previous value" in shown[0].message
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"o1coder": {"search": {"stratgy": "mcts"}}})
    )
    await client.wait_for(lambda: any("o1coder.search.stratgy" in m.message for m in client.messages))
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"o1coder": {"search": {"strategy": "best-of-n"}}})
    )
    await client.wait_for(lambda: any("search.strategy changed" in line for line in client.log_lines()))
    assert len([m for m in client.messages if m.type == types.MessageType.Error]) == 2
    uri = client.open(tmp_path / "m.py", STUB_MODULE)
    assert len(await client.text_document_code_action_async(code_action_params(uri, 8))) == 3


@pytest.mark.model  # no model work, but the server reports the default model's status: it must be installed
async def test_a_missing_or_corrupt_model_file_names_the_role_and_the_fix(client: EditorClient, tmp_path: Path) -> None:
    missing = tmp_path / "models" / "missing.gguf"
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"o1coder": {"models": {"prm": str(missing)}}})
    )
    shown = await client.wait_for(lambda: [m for m in client.messages if m.type == types.MessageType.Error])
    assert "the prm model cannot be used" in shown[0].message
    assert str(missing) in shown[0].message and "o1coder models" in shown[0].message

    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"this is not a model")
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"o1coder": {"models": {"tcg": str(corrupt)}}})
    )
    shown = await client.wait_for(lambda: [m for m in client.messages if "tcg model" in m.message])
    assert "not a GGUF file" in shown[0].message and "o1coder models" in shown[0].message

    status = {r["role"]: r for r in (await client.execute("o1coder.showModels"))["roles"]}
    assert status["prm"]["error"] and status["tcg"]["error"] and status["policy"]["error"] is None
    uri = client.open(tmp_path / "m.py", STUB_MODULE)
    assert len(await client.text_document_code_action_async(code_action_params(uri, 8))) == 3  # still up


async def read_message(reader: asyncio.StreamReader) -> dict:
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(await reader.readexactly(length))


async def test_serves_over_tcp(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, "--tcp", f"127.0.0.1:{port}", "--log-file", str(tmp_path / "server.log"),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        banner = await asyncio.wait_for(process.stderr.readline(), 60)
        assert f"listening on 127.0.0.1:{port}" in banner.decode()
        # The banner is printed just before pygls binds the socket: wait for it to accept.
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except ConnectionRefusedError:
                if asyncio.get_running_loop().time() > deadline or process.returncode is not None:
                    raise
                await asyncio.sleep(0.05)

        def send(message: dict) -> None:
            body = json.dumps(message).encode()
            writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

        send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None}})
        answer = await asyncio.wait_for(read_message(reader), 60)
        while "id" not in answer:  # log messages may come first
            answer = await asyncio.wait_for(read_message(reader), 60)
        assert answer["id"] == 1 and "executeCommandProvider" in answer["result"]["capabilities"]
        send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        send({"jsonrpc": "2.0", "method": "exit"})
        writer.close()
        assert (tmp_path / "server.log").exists()
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def test_invalid_initialization_options_do_not_fail_initialize(tmp_path: Path) -> None:
    client = await CONFIG.start()
    assert isinstance(client, EditorClient)
    try:
        result = await client.initialize_session(initialize_params(tmp_path, {"search": {"strategy": "magic"}}))
        assert "o1coder.implement" in result.capabilities.execute_command_provider.commands
        shown = await client.wait_for(lambda: client.messages)
        assert shown[0].type == types.MessageType.Error and "o1coder.search.strategy" in shown[0].message
        assert "mcts" in shown[0].message  # it says what the valid values are
        await client.shutdown_session()
    finally:
        await client.stop()

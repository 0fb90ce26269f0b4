"""Hostile framing, lifecycle errors and a second TCP client, against the real server.

Each attack goes to `python -m o1coder.lsp` as raw bytes (over stdio, or TCP), and the test
asserts the exact answer (the JSON-RPC error code and id) and that the server then still
answers a valid request. No model is loaded: initialize, hover and shutdown never load one.
The printed times (pytest -s) are measurements; the asserted bound is a generous TIMEOUT.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsp_harness import SERVER_COMMAND

from o1coder.lsp import framing, messages

pytestmark = pytest.mark.asyncio

TIMEOUT = 60.0  # to fail instead of hanging (a loaded machine starts the server slowly); answers come in milliseconds
HOVER_PARAMS: dict[str, Any] = {"position": {"line": 0, "character": 0}}


def frame(body: bytes | dict[str, Any], length: int | None = None) -> bytes:
    """One frame; `length` overrides the Content-Length (to lie about it)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(data) if length is None else length, data)


def request(msg_id: int, method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


def notification(method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


INITIALIZE = request(1, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})


class Peer:
    """A raw JSON-RPC connection to the server: bytes out, parsed messages in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, uri: str) -> None:
        self.reader = reader
        self.writer = writer
        self.uri = uri
        self.notifications: list[dict[str, Any]] = []

    async def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, *messages_: dict[str, Any]) -> None:
        await self.send_bytes(b"".join(frame(m) for m in messages_))

    async def read_message(self) -> dict[str, Any] | None:
        """The next message from the server; None at the end of its output."""
        try:
            header = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        match = re.search(rb"Content-Length: (\d+)", header)
        assert match is not None, header
        return json.loads(await self.reader.readexactly(int(match.group(1))))

    async def response(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next response (log and show-message notifications are kept aside)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.read_message()
                assert message is not None, "the server closed the connection"
                if "method" not in message:
                    return message
                self.notifications.append(message)

    async def responses_until(self, msg_id: int) -> list[dict[str, Any]]:
        """Every response up to and including the one to `msg_id`."""
        seen = [await self.response()]
        while seen[-1].get("id") != msg_id:
            seen.append(await self.response())
        return seen

    async def initialize(self) -> None:
        await self.send(INITIALIZE)
        answer = await self.response()
        assert answer["id"] == 1 and "capabilities" in answer["result"], answer
        await self.send(
            notification("initialized", {}),
            notification(
                "textDocument/didOpen",
                {"textDocument": {"uri": self.uri, "languageId": "python", "version": 1, "text": "x = 1\n"}},
            ),
        )

    def hover(self, msg_id: int) -> dict[str, Any]:
        return request(msg_id, "textDocument/hover", {"textDocument": {"uri": self.uri}, **HOVER_PARAMS})

    async def assert_answers(self, msg_id: int) -> None:
        """A valid request right now is answered (not an error)."""
        await self.send(self.hover(msg_id))
        answer = await self.response()
        assert answer == {"jsonrpc": "2.0", "id": msg_id, "result": None}, answer


class StdioServer(Peer):
    def __init__(self, process: asyncio.subprocess.Process, uri: str) -> None:
        assert process.stdout is not None and process.stdin is not None
        super().__init__(process.stdout, process.stdin, uri)  # type: ignore[arg-type]
        self.process = process

    async def exit_status(self) -> int:
        return await asyncio.wait_for(self.process.wait(), TIMEOUT)

    async def shutdown_and_exit(self, msg_id: int = 99) -> None:
        await self.send(request(msg_id, "shutdown"))
        assert await self.response() == {"jsonrpc": "2.0", "id": msg_id, "result": None}
        await self.send(notification("exit"))
        assert await self.exit_status() == 0


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[StdioServer]:
    """The real server over stdio, not initialized yet."""
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *SERVER_COMMAND,
            "--log-file",
            str(tmp_path / "server.log"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    try:
        yield StdioServer(process, (tmp_path / "doc.py").as_uri())
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def attack(server: StdioServer, data: bytes, valid_id: int = 50) -> tuple[list[dict[str, Any]], float]:
    """Send `data` and then a valid request: the responses up to its answer, and the seconds it took."""
    started = time.perf_counter()
    await server.send_bytes(data + frame(server.hover(valid_id)))
    seen = await server.responses_until(valid_id)
    seconds = time.perf_counter() - started
    assert seen[-1] == {"jsonrpc": "2.0", "id": valid_id, "result": None}, seen
    return seen[:-1], seconds


def only_error(errors: list[dict[str, Any]], code: int, msg_id: Any = None) -> str:
    """The single error response in `errors`: its code and id must be these; returns its message."""
    assert len(errors) == 1, errors
    [error] = errors
    assert error["id"] == msg_id and error["error"]["code"] == code, error
    return str(error["error"]["message"])


# ---------------------------------------------------------------- framing


@pytest.mark.parametrize("delta", [-5, -1], ids=["5-short", "1-short"])
async def test_a_short_content_length_is_a_parse_error_and_the_next_frame_is_answered(
    server: StdioServer, delta: int
) -> None:
    await server.initialize()
    body = json.dumps(server.hover(10)).encode()
    errors, seconds = await attack(server, frame(body, len(body) + delta))
    message = only_error(errors, messages.PARSE_ERROR)
    assert "Content-Length" in message
    print(f"Content-Length {delta} bytes short: the next request answered after {seconds * 1000:.0f} ms")
    await server.assert_answers(51)
    await server.shutdown_and_exit()


async def test_a_long_content_length_swallows_the_next_frame_which_is_still_found(server: StdioServer) -> None:
    """The long frame takes bytes of the next one; when its body is full it fails to parse, and
    the search for the next header runs through it, so the next request is answered too."""
    await server.initialize()
    body = json.dumps(server.hover(10)).encode()
    errors, seconds = await attack(server, frame(body, len(body) + 40))
    only_error(errors, messages.PARSE_ERROR)
    print(f"Content-Length 40 bytes long, then a request: that request answered after {seconds * 1000:.0f} ms")
    await server.assert_answers(51)
    await server.shutdown_and_exit()


async def test_a_long_content_length_with_nothing_after_it_is_answered_once_it_stalls(server: StdioServer) -> None:
    """Nothing completes the body: after STALL_SECONDS without a byte the frame is dropped and answered."""
    await server.initialize()
    body = json.dumps(server.hover(10)).encode()
    started = time.perf_counter()
    await server.send_bytes(frame(body, len(body) + 1000))
    error = await server.response(timeout=framing.STALL_SECONDS + TIMEOUT)
    seconds = time.perf_counter() - started
    assert error["id"] is None and error["error"]["code"] == messages.PARSE_ERROR, error
    assert "stopped after" in error["error"]["message"]
    assert f"(nothing new for {framing.STALL_SECONDS:g} s)" in error["error"]["message"]
    print(f"Content-Length 1000 bytes long and nothing after: answered after {seconds:.1f} s")
    await server.assert_answers(51)
    await server.shutdown_and_exit()


@pytest.mark.parametrize("length", [2_000_000_000, 30_000_000_000], ids=["2e9", "3e10"])
async def test_a_huge_content_length_is_refused_without_allocating_it(server: StdioServer, length: int) -> None:
    await server.initialize()
    errors, seconds = await attack(server, frame(json.dumps(server.hover(10)).encode(), length))
    message = only_error(errors, messages.PARSE_ERROR)
    assert f"Content-Length {length} is above the limit" in message
    print(f"Content-Length {length}: the next request answered after {seconds * 1000:.0f} ms")
    await server.assert_answers(51)
    await server.shutdown_and_exit()


async def test_garbage_between_frames_is_skipped(server: StdioServer) -> None:
    await server.initialize()
    errors, _ = await attack(server, b"hello, server\r\n\r\n\x00\xff")
    only_error(errors, messages.PARSE_ERROR)
    await server.shutdown_and_exit()


# ---------------------------------------------------------------- JSON-RPC messages


async def test_invalid_json_is_a_parse_error_with_a_null_id(server: StdioServer) -> None:
    await server.initialize()
    errors, seconds = await attack(server, frame(b'{"jsonrpc": "2.0", "id": 5, "method": '))
    assert "not valid UTF-8 JSON" in only_error(errors, messages.PARSE_ERROR)
    print(f"invalid JSON: the next request answered after {seconds * 1000:.0f} ms")
    await server.shutdown_and_exit()


async def test_a_message_without_jsonrpc_is_an_invalid_request(server: StdioServer) -> None:
    await server.initialize()
    without = {k: v for k, v in server.hover(7).items() if k != "jsonrpc"}
    errors, _ = await attack(server, frame(without))
    assert '"jsonrpc": "2.0"' in only_error(errors, messages.INVALID_REQUEST, 7)
    errors, _ = await attack(server, frame({"foo": "boo"}) + frame([1, 2]), valid_id=52)
    assert [(e["id"], e["error"]["code"]) for e in errors] == [(None, messages.INVALID_REQUEST)] * 2
    await server.shutdown_and_exit()


async def test_a_request_before_initialize_is_refused_as_not_initialized(server: StdioServer) -> None:
    await server.send(server.hover(3))
    error = await server.response()
    assert error["id"] == 3 and error["error"]["code"] == messages.SERVER_NOT_INITIALIZED, error
    assert "send initialize first" in error["error"]["message"]
    await server.initialize()  # then initialize works, and so does the request
    await server.assert_answers(4)
    await server.send(INITIALIZE)  # once only
    error = await server.response()
    assert error["id"] == 1 and error["error"]["code"] == messages.INVALID_REQUEST, error
    await server.shutdown_and_exit()


async def test_a_request_after_shutdown_is_an_invalid_request(server: StdioServer) -> None:
    await server.initialize()
    await server.send(request(2, "shutdown"))
    assert await server.response() == {"jsonrpc": "2.0", "id": 2, "result": None}
    await server.send(server.hover(3))
    error = await server.response()
    assert error["id"] == 3 and error["error"]["code"] == messages.INVALID_REQUEST, error
    assert "after shutdown" in error["error"]["message"]
    await server.send(notification("exit"))
    assert await server.exit_status() == 0


async def test_exit_without_shutdown_exits_with_status_1(server: StdioServer) -> None:
    await server.initialize()
    await server.send(notification("exit"))
    assert await server.exit_status() == 1


async def test_exit_after_shutdown_exits_with_status_0(server: StdioServer) -> None:
    await server.initialize()
    await server.shutdown_and_exit()


# ---------------------------------------------------------------- TCP: one client at a time


async def connect(port: int, uri: str, process: asyncio.subprocess.Process) -> Peer:
    """Connect once the server listens; give up when the server process has exited instead."""
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            return Peer(reader, writer, uri)
        except ConnectionRefusedError:
            if process.returncode is not None:
                raise
            await asyncio.sleep(0.05)


async def test_tcp_serves_one_client_at_a_time_on_loopback(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, "--tcp", str(port), "--log-file", str(tmp_path / "server.log"),
        stderr=asyncio.subprocess.PIPE,
    )
    uri = (tmp_path / "doc.py").as_uri()
    try:
        assert process.stderr is not None
        banner = await asyncio.wait_for(process.stderr.readline(), 60)
        assert f"listening on 127.0.0.1:{port}" in banner.decode()  # `--tcp PORT` binds loopback only

        first = await connect(port, uri, process)
        await first.initialize()
        await first.assert_answers(2)

        second = await connect(port, uri, process)
        await second.send(INITIALIZE)
        refusal = await second.response()
        assert refusal["id"] is None and refusal["error"]["code"] == messages.SERVER_BUSY, refusal
        assert "one client at a time" in refusal["error"]["message"]
        assert await asyncio.wait_for(second.read_message(), TIMEOUT) is None  # and closed
        await first.assert_answers(3)  # the first client still gets its answers

        first.writer.close()  # leaves without exit: the next client starts afresh
        # (once the server has seen it go: until then a new connection is still refused as busy)
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while True:
            third = await connect(port, uri, process)
            await third.send(third.hover(4))
            refused = await third.response()
            if refused.get("error", {}).get("code") != messages.SERVER_BUSY:
                break
            assert asyncio.get_running_loop().time() < deadline, "the first client's leaving was never noticed"
            third.writer.close()
            await asyncio.sleep(0.05)
        assert refused["id"] == 4 and refused["error"]["code"] == messages.SERVER_NOT_INITIALIZED, refused
        await third.initialize()
        await third.assert_answers(5)
        await third.send(request(6, "shutdown"))
        assert await third.response() == {"jsonrpc": "2.0", "id": 6, "result": None}
        await third.send(notification("exit"))
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
        log = (tmp_path / "server.log").read_text()
        assert "refused a connection from 127.0.0.1:" in log
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()

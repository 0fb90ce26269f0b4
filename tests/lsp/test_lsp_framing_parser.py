"""The frame parser on its own (the server's answers to the same attacks: test_lsp_framing.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from o1coder.lsp.framing import Body, FrameParser, FramingError, parse_header


def frame(body: bytes | dict[str, Any], length: int | None = None) -> bytes:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(data) if length is None else length, data)



def is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def events(parser: FrameParser, data: bytes) -> list[Body | FramingError]:
    parser.feed(data)
    found = []
    while (event := parser.next_event()) is not None:
        found.append(event)
        if isinstance(event, Body) and not is_json(event.data):
            parser.rescan(event.data)
    return found


def test_the_parser_reads_split_frames_and_tolerates_blank_lines() -> None:
    parser = FrameParser()
    data = b"\r\n" + frame({"a": 1}) + frame({"b": 2}) + b"\r\n"
    found = [event for i in range(len(data)) for event in events(parser, data[i : i + 1])]
    assert found == [Body(b'{"a": 1}'), Body(b'{"b": 2}')]
    assert not parser.pending


def test_the_parser_holds_no_more_than_a_frame_while_skipping() -> None:
    parser = FrameParser()
    found = events(parser, frame(b"", 10**12))
    assert [type(e) for e in found] == [FramingError]
    for _ in range(100):  # a megabyte of the refused body, dropped as it comes
        assert events(parser, b"x" * 10_000) == []
    assert parser.buffered < 100 and not parser.pending
    assert events(parser, frame({"ok": True})) == [Body(b'{"ok": true}')]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"Content-Length: 2e9", "not a number"),
        (b"Content-Length: -1", "not a number"),
        (b"Content-Type: x", "no Content-Length"),
        (b"Content-Length: 1\r\nContent-Length: 2", "two different"),
        (b"Content-Type: x\r\nno colon", "malformed header line"),
        (b"{not a header}", "expected a `Content-Length:` header"),
    ],
)
def test_bad_headers_are_named(header: bytes, reason: str) -> None:
    found = events(FrameParser(), header + b"\r\n\r\n" + frame({"ok": 1}))
    assert isinstance(found[0], FramingError) and reason in found[0].reason
    assert found[-1] == Body(b'{"ok": 1}')


def test_a_body_that_is_not_json_is_rescanned_for_the_frame_it_swallowed() -> None:
    inner = frame({"id": 2})
    found = events(FrameParser(), frame(b'{"id": 1}', len(b'{"id": 1}') + len(inner)) + inner)
    assert found == [Body(b'{"id": 1}' + inner), Body(b'{"id": 2}')]


def test_a_stalled_body_is_reported_once_and_the_rest_rescanned() -> None:
    parser = FrameParser()
    assert events(parser, frame(b"{}", 100) + frame({"id": 2})) == []
    assert parser.pending
    parser.stall(5.0)
    found = events(parser, b"")
    assert isinstance(found[0], FramingError) and "stopped after" in found[0].reason
    assert found[1:] == [Body(b'{"id": 2}')]


def test_parse_header_limits() -> None:
    assert parse_header(b"Content-Length: 67108864") == 64 * 2**20
    assert "above the limit" in str(parse_header(b"Content-Length: 67108865"))
    assert "digits" in str(parse_header(b"content-length: " + b"9" * 5000))
    assert parse_header(b"content-length: 3\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8") == 3

"""The LSP base protocol's framing, with limits: bytes in, whole message bodies out.

Every message is framed as header lines (`Content-Length: N`, optionally `Content-Type`), a
blank line, then N bytes of JSON. pygls' own reader trusts that framing: one wrong
Content-Length desynchronises it for good (it then reads bodies as header lines and answers
nothing), and a huge one makes it wait for, or allocate, gigabytes. `FrameParser` instead:

- accepts a Content-Length of at most MAX_BODY_BYTES (64 MiB) and a header block of at most
  MAX_HEADER_BYTES; anything else is a framing error, answered and skipped;
- resynchronises after a framing error, or when the consumer could not parse a body
  (`rescan`): it drops bytes up to the next `Content-Length:` (case-insensitive) and reads on
  from there. The rejected body is searched too, so a frame swallowed by a Content-Length
  longer than its body is still found and answered;
- reports one error per run of garbage (until the next good frame), so a client gets one
  answer per bad frame rather than one per stray byte;
- holds at most the frame it is reading: skipped bytes are dropped as they arrive.

`read_frames` drives a parser from any async byte source and hands each body to a
`FrameSink`. A frame that stays incomplete for STALL_SECONDS without a new byte is dropped
as malformed (with a Content-Length longer than what was sent, the server would otherwise
wait forever while the client waits for an answer); what was buffered is rescanned.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 4096
STALL_SECONDS = 5.0
CHUNK_BYTES = 64 * 1024

_HEADER_START = re.compile(rb"content-length:", re.IGNORECASE)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]*")  # an HTTP header name (a prefix of one)
_NEWLINES = re.compile(rb"[\r\n]*")
_BLANK = b"\r\n\r\n"
_KEEP = len(b"content-length:") - 1  # a header split across two chunks must still be found


@dataclass(frozen=True)
class Body:
    """A complete frame's body (not parsed yet)."""

    data: bytes


@dataclass(frozen=True)
class FramingError:
    """Bytes that are not a valid frame; `reason` says what was wrong and what was skipped."""

    reason: str


Event = Body | FramingError


def parse_header(block: bytes, max_body: int = MAX_BODY_BYTES) -> int | str:
    """The Content-Length of a header block (without its blank line), or why it is invalid."""
    length: int | None = None
    for line in block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep or not name or _TOKEN.fullmatch(name) is None:
            return f"malformed header line {_show(line)} (expected `Name: value`)"
        if name.lower() != b"content-length":
            continue  # Content-Type and unknown headers: the body is read as UTF-8 JSON regardless
        value = value.strip()
        if not value.isdigit():
            return f"Content-Length {_show(value)} is not a number of bytes"
        if len(value) > 15 or int(value) > max_body:
            shown = value.decode() if len(value) <= 30 else f"{value[:20].decode()}... ({len(value)} digits)"
            return f"Content-Length {shown} is above the limit of {max_body} bytes ({max_body / 2**20:g} MiB)"
        if length is not None and length != int(value):
            return "two different Content-Length headers"
        length = int(value)
    if length is None:
        return "the header has no Content-Length"
    return length


class FrameParser:
    """Incremental, sans-I/O frame parser: `feed` bytes, then take events with `next_event`."""

    def __init__(self, max_body: int = MAX_BODY_BYTES, max_header: int = MAX_HEADER_BYTES) -> None:
        self.max_body = max_body
        self.max_header = max_header
        self._buf = bytearray()
        self._need: int | None = None  # the body length, once a header was read
        self._syncing = False  # dropping bytes up to the next Content-Length
        self._reported = False  # this run of garbage was answered already
        self._pending_error: FramingError | None = None

    @property
    def pending(self) -> bool:
        """Whether part of a frame is buffered (a stall would leave it unanswered)."""
        return self._need is not None or (not self._syncing and bool(self._buf))

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def rescan(self, body: bytes) -> None:
        """The consumer answered `body` as unparseable: search it, and what follows, for the next header."""
        self._buf[0:0] = body
        self._need = None
        self._syncing = True
        self._reported = True

    def stall(self, seconds: float) -> None:
        """No byte came for `seconds` while a frame was incomplete: drop it, rescan what was buffered."""
        if self._need is not None:
            reason = f"the body stopped after {len(self._buf)} of {self._need} bytes (nothing new for {seconds:g} s)"
            self._need = None
        elif self.pending:
            reason = f"the header stopped before its blank line (nothing new for {seconds:g} s)"
            del self._buf[:1]
        else:
            return
        self._fail(reason)

    def next_event(self) -> Event | None:
        """The next complete body or framing error; None when more bytes are needed."""
        while True:
            if self._pending_error is not None:
                error, self._pending_error = self._pending_error, None
                return error
            if self._syncing:
                if not self._sync():
                    return None
            elif self._need is None:
                if not self._read_header():
                    return None
            elif len(self._buf) < self._need:
                return None
            else:
                body = bytes(self._buf[: self._need])
                del self._buf[: self._need]
                self._need = None
                self._reported = False
                return Body(body)

    def _sync(self) -> bool:
        """Drop bytes up to the next `Content-Length:`; False when none is buffered yet."""
        match = _HEADER_START.search(self._buf)
        if match is None:
            del self._buf[: max(0, len(self._buf) - _KEEP)]
            return False
        if match.start():
            log.debug("skipped %d bytes up to the next Content-Length header", match.start())
        del self._buf[: match.start()]
        self._syncing = False
        return True

    def _read_header(self) -> bool:
        """Read one header block into `_need`, or reject it; False when more bytes are needed."""
        stripped = _prefix_length(_NEWLINES, self._buf)
        if stripped:
            del self._buf[:stripped]  # blank lines between frames are harmless
        if not self._buf:
            return False
        name_end = _prefix_length(_TOKEN, self._buf)
        if name_end < len(self._buf) and self._buf[name_end] != ord(":"):
            first_line = bytes(self._buf[:40]).split(b"\r\n")[0]
            self._fail(f"expected a `Content-Length:` header, got {_show(first_line)}")
            del self._buf[:1]
            return True
        end = self._buf.find(_BLANK, 0, self.max_header + len(_BLANK))
        if end < 0:
            if len(self._buf) < self.max_header + len(_BLANK):
                return False
            self._fail(f"no blank line (\\r\\n\\r\\n) ends the header within {self.max_header} bytes")
            del self._buf[:1]
            return True
        parsed = parse_header(bytes(self._buf[:end]), self.max_body)
        if isinstance(parsed, str):
            self._fail(parsed)
            del self._buf[:1]  # the header itself is skipped by the search for the next one
            return True
        del self._buf[: end + len(_BLANK)]
        self._need = parsed
        return True

    def _fail(self, reason: str) -> None:
        self._syncing = True
        if self._reported:
            log.info("more malformed input (%s); still looking for the next Content-Length header", reason)
            return
        self._reported = True
        self._pending_error = FramingError(reason)


def _show(data: bytes) -> str:
    """Bytes quoted for a message: "text" (undecodable bytes as U+FFFD)."""
    return repr(data[:40].decode("utf-8", errors="replace"))


def _prefix_length(pattern: re.Pattern[bytes], data: bytearray) -> int:
    match = pattern.match(data)
    return match.end() if match is not None else 0


class FrameSink(Protocol):
    """Where `read_frames` delivers: O1CoderProtocol."""

    def receive_body(self, body: bytes) -> bool:
        """Handle one body; False when it is not JSON (it was answered, and is rescanned for a header)."""
        ...

    def framing_error(self, reason: str) -> None:
        """Answer bytes that were not a valid frame."""
        ...


async def read_frames(
    read: Callable[[], Awaitable[bytes]], sink: FrameSink, stall_seconds: float = STALL_SECONDS
) -> None:
    """Parse `read()`'s chunks into frames for `sink` until `read()` returns b"" (end of input).

    SystemExit (the `exit` notification) and ConnectionError (the client is gone) propagate; any
    other error of the sink is logged and the next frame read.
    """
    parser = FrameParser()
    while True:
        try:
            chunk = await (asyncio.wait_for(read(), stall_seconds) if parser.pending else read())
        except TimeoutError:
            parser.stall(stall_seconds)
        else:
            if not chunk:
                if parser.pending:
                    log.warning("the input ended inside a frame (%d bytes unread)", parser.buffered)
                return
            parser.feed(chunk)
        while (event := parser.next_event()) is not None:
            try:
                if isinstance(event, FramingError):
                    sink.framing_error(event.reason)
                elif not sink.receive_body(event.data):
                    parser.rescan(event.data)
            except ConnectionError:  # the client is gone (a broken pipe while answering)
                raise
            except Exception:
                log.exception("could not handle a message")

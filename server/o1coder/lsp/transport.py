"""Where the server's bytes come from: stdio, or one TCP client at a time.

Both replace pygls' `start_io` / `start_tcp` reading loops with framing.read_frames (limits,
resynchronisation) and keep pygls' protocol for everything else. Both return the process's
exit status: the `exit` notification's (0 after `shutdown`, 1 without, as the LSP says; pygls
swallowed it and always ended with 0), else 0 when the input ends after `shutdown` and 1 when
it ends without one.

TCP policy: **one client at a time, refused otherwise**. A second connection while a client is
connected gets one JSON-RPC error (SERVER_BUSY, -32000, id null) saying who holds the server
and what to do, then the connection is closed; the connected client keeps its answers. When
the client disconnects without `exit`, its session is forgotten (its work cancelled, settings
back to the defaults) and the server waits for the next client, which must `initialize`.
`exit` ends the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from pygls.io_ import StdoutWriter

from o1coder.lsp import framing, messages

if TYPE_CHECKING:
    from o1coder.lsp.server import O1CoderServer

log = logging.getLogger(__name__)

QUEUE_CHUNKS = 16  # stdin chunks buffered ahead of the parser (16 x 64 KiB)
REFUSE_LINGER_SECONDS = 2.0  # how long a refused client may keep sending before it is cut off


class NullWriter:
    """The writer between two TCP clients: what the server says then (log lines) goes nowhere."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class StreamChunks:
    """A blocking binary stream (stdin), read on a daemon thread, as awaitable chunks.

    The thread reads the file descriptor itself (os.read), never the stream's buffer: a daemon
    thread blocked inside a BufferedReader holds its lock, and the interpreter aborts when it
    finds that lock taken at exit. A daemon thread never holds up the exit (pygls read stdin
    on its thread pool, which the interpreter joins); the bounded queue stops it reading far
    ahead of the parser.
    """

    def __init__(self, stream: BinaryIO, loop: asyncio.AbstractEventLoop) -> None:
        self._read = _raw_reader(stream)
        self._loop = loop
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._slots = threading.Semaphore(QUEUE_CHUNKS)  # released as the parser takes chunks
        threading.Thread(target=self._pump, name="o1coder-stdin", daemon=True).start()

    def _pump(self) -> None:
        while True:
            self._slots.acquire()
            try:
                chunk = self._read(framing.CHUNK_BYTES)
            except (OSError, ValueError) as exc:  # closed under us
                log.debug("stdin: %s", exc)
                chunk = b""
            try:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: the server is exiting
                return
            if not chunk:
                return

    async def read(self) -> bytes:
        chunk = await self._queue.get()
        self._slots.release()
        return chunk


def _raw_reader(stream: BinaryIO) -> Callable[[int], bytes]:
    """read(n) returning what is available (b"" at the end): os.read on the stream's descriptor."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory stream (tests)
        return getattr(stream, "read1", stream.read)
    return lambda n: os.read(fd, n)


async def run_session(server: O1CoderServer, read: Callable[[], Any]) -> int | None:
    """Serve one client until `exit` (its status) or the end of its input (None)."""
    try:
        await framing.read_frames(read, server.protocol)
    except SystemExit as exc:  # pygls' exit handler: 0 after shutdown, 1 without
        server.protocol.set_writer(NullWriter())  # it closed the real one
        code = exc.code if isinstance(exc.code, int) else 1
        log.info("exit%s: the server stops with status %d", "" if code == 0 else " without shutdown", code)
        return code
    except ConnectionError as exc:
        server.protocol.set_writer(NullWriter())
        log.error("the connection to the client is lost (%s)", exc)
    return None


def end_status(server: O1CoderServer) -> int:
    """The status when the client's input ends without `exit`."""
    if server.protocol._shutdown:
        log.info("the client closed the connection after shutdown, without exit")
        return 0
    log.warning("the client closed the connection without shutdown and exit; the server stops with status 1")
    return 1


def serve_stdio(server: O1CoderServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Serve one client over stdin/stdout; the process's exit status."""
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

    async def main() -> int:
        chunks = StreamChunks(stdin or sys.stdin.buffer, asyncio.get_running_loop())
        code = await run_session(server, chunks.read)
        return end_status(server) if code is None else code

    try:
        return asyncio.run(main())
    except BrokenPipeError:
        log.error("the connection to the client is lost (broken pipe); the server stops")
        return 1
    finally:
        server.shutdown()


def error_frame(code: int, message: str) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reason: str) -> None:
    """Tell a client why it is refused, then close (after letting it finish sending, so the
    reply is not lost to a reset)."""
    try:
        writer.write(error_frame(messages.SERVER_BUSY, reason))
        await asyncio.wait_for(writer.drain(), REFUSE_LINGER_SECONDS)
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(REFUSE_LINGER_SECONDS):
            while await reader.read(framing.CHUNK_BYTES):
                pass
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def serve_tcp(server: O1CoderServer, host: str, port: int, on_listening: Callable[[str], None]) -> int:
    """Serve one TCP client at a time on host:port until a client sends `exit`; its status."""
    protocol = server.protocol
    protocol.set_writer(NullWriter())
    current: list[str] = []  # the connected client, if any

    async def main() -> int:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = peer_address(writer.get_extra_info("peername"))
            if current or done.done():
                reason = (
                    f"o1coder serve --tcp serves one client at a time and {current[0] if current else 'another client'} "
                    "is connected; close that connection first, or start another server on another port"
                )
                log.warning("refused a connection from %s: %s", peer, reason)
                await refuse(reader, writer, reason)
                return
            current.append(peer)
            log.info("client %s connected", peer)
            protocol.set_writer(writer)  # type: ignore[arg-type]  # write() and close() are all pygls uses

            async def read() -> bytes:
                try:
                    return await reader.read(framing.CHUNK_BYTES)
                except OSError:
                    return b""

            try:
                code = await run_session(server, read)
            finally:
                current.clear()
            if code is not None:
                if not done.done():
                    done.set_result(code)
                return
            log.info("client %s disconnected without exit; waiting for the next client, which must initialize", peer)
            protocol.set_writer(NullWriter())
            server.end_session()
            writer.close()

        listener = await asyncio.start_server(on_connect, host, port)
        addresses = ", ".join(peer_address(sock.getsockname()) for sock in listener.sockets)
        log.info("listening on %s (one client at a time)", addresses)
        on_listening(addresses)
        async with listener:
            return await done

    try:
        return asyncio.run(main())
    finally:
        server.shutdown()


def peer_address(address: Any) -> str:
    """HOST:PORT of a socket address ([HOST]:PORT for IPv6)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return str(address)

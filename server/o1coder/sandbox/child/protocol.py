"""The channel between a sandbox child and the parent, child side.

Parent -> child, on the child's stdin: frames, each a 4-byte big-endian length and a body.
The first body is the marshal payload (see `boot`); every later one is a JSON list, a
request. Child -> parent, on a pipe the parent opened (its fd is in the payload): JSON lists,
one per line, each line starting with a newline so that a partial line candidate code wrote
to the same pipe is ended first.

Nothing on this channel is secret and nothing is authenticated: the parent trusts no line it
reads from the candidate's process for anything but what that process computed (its own
outputs), and decides every verdict itself or in the judge process, which runs no candidate
code (see `o1coder.sandbox.run`).

    candidate -> parent   ["ready", isolation]  ["loaded", ok, message, names]
                          ["ok", rid, value, writeback]  ["raised", rid, info]  ["timeout", rid]
    judge -> parent       ["ready", isolation]  ["call" | "attr" | "op", rid, ...]
                          ["end", index, status, message, notes]
    parent -> candidate   ["eval", rid, index, seconds]  ["call", rid, hid, args, kwargs, seconds]
                          ["attr", rid, hid, name, seconds]  ["op", rid, hid, op, args, seconds]
    parent -> judge       ["names", table]  ["run", index, seconds]  replies relayed from the candidate
"""

from __future__ import annotations

import os

HEADER = 4
MAX_FRAME = 64 << 20


def read_exact(fd: int, size: int) -> bytes | None:
    """`size` bytes from `fd`, or None at end of file."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes | None:
    """The next frame's body from the parent, or None when the parent closed the channel."""
    header = read_exact(fd, HEADER)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    if size > MAX_FRAME:
        return None
    return read_exact(fd, size)


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(HEADER, "big") + body


class Channel:
    """Requests in (frames on `request_fd`), messages out (lines on `result_fd`)."""

    def __init__(self, request_fd: int, result_fd: int, dumps, loads):
        self.request_fd, self.result_fd = request_fd, result_fd
        self.dumps, self.loads = dumps, loads
        self.write = os.write

    def receive(self):
        """The next request (a JSON list), or None when the parent is gone or sent garbage."""
        body = read_frame(self.request_fd)
        if body is None:
            return None
        try:
            message = self.loads(body)
        except ValueError:
            return None
        return message if type(message) is list and message else None

    def send(self, message: list) -> bool:
        """Write one message; False once the parent is gone."""
        line = b"\n" + self.dumps(message).encode("utf-8", "surrogatepass") + b"\n"
        try:
            while line:
                line = line[self.write(self.result_fd, line) :]
        except OSError:
            return False
        return True

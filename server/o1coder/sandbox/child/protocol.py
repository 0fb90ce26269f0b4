"""The result channel, child side: authenticated lines on a pipe the parent opened.

Each line is `<mac hex> <repr of a tuple>`; the MAC is keyed BLAKE2b over the tuple's text
with a random per-run key the parent sends on the child's stdin. The child keeps the key only
inside a hashing object held in a closure (created before candidate code runs), so candidate
code that writes to the pipe or to stdout cannot produce a line the parent accepts.
The parent side is `o1coder.sandbox.channel`.

Messages (child -> parent):
    ("ready", isolation)                 confinement applied; `isolation` describes it
    ("load", ok, message)                candidate code ran its top level (or why not)
    ("start", index)                     test `index` begins (the parent starts its clock)
    ("end", index, status, message, s)   test `index` finished
    ("done",)                            every test reported
"""

from __future__ import annotations

import os
from _blake2 import blake2b
from _collections_abc import Callable  # loaded at interpreter start: no import cost

DIGEST_SIZE = 16


def make_writer(fd: int, key: bytes) -> Callable[[tuple], bool]:
    """A function sending one message; it returns False once the channel is gone.

    Everything it uses is bound in this closure now, so candidate code that later patches
    builtins or modules cannot change what it sends.
    """
    mac = blake2b(key=key, digest_size=DIGEST_SIZE)
    write, r, enc, err = os.write, repr, str.encode, OSError

    def send(message: tuple) -> bool:
        body = enc(r(message), "utf-8", "backslashreplace")
        digest = mac.copy()
        digest.update(body)
        # the leading newline ends any partial line candidate code wrote to this pipe
        line = b"\n" + enc(digest.hexdigest(), "ascii") + b" " + body + b"\n"
        try:
            while line:
                line = line[write(fd, line) :]
        except err:
            return False
        return True

    return send

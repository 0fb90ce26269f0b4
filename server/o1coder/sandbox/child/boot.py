"""The script the sandbox parent starts: `python -s -P -S -B boot.py`, payload on stdin.

The payload (marshal, the first frame on stdin: a 4-byte big-endian length, then the body)
carries this folder's modules as code objects the parent compiled, so the child neither
searches a path (this folder's `types.py` must not shadow the stdlib) nor compiles anything;
`harness.main` does the rest. Later frames on stdin are the parent's requests.
"""

import marshal
import os
import sys


def _read(size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(0, min(size, 1 << 20))
        if not chunk:
            sys.exit(1)
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _start() -> None:
    payload = marshal.loads(_read(int.from_bytes(_read(4), "big")))
    modules = {}
    for name, code in payload.pop("modules"):
        module = type(sys)("o1coder_sandbox_" + name)
        exec(code, module.__dict__)
        modules[name] = module
    modules["harness"].main(payload, modules)


if __name__ == "__main__":
    _start()

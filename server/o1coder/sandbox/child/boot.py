"""The script the sandbox parent starts: `python -s -P -S -B boot.py`, payload on stdin.

The payload (marshal) carries this folder's modules as code objects the parent compiled, so
the child neither searches a path (this folder's `types.py` must not shadow the stdlib) nor
compiles anything; `harness.main` does the rest. Nothing is left in this module's globals.
"""

import marshal
import os
import sys


def _start() -> None:
    chunks = []
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    payload = marshal.loads(b"".join(chunks))
    del chunks
    modules = {}
    for name, code in payload.pop("modules"):
        module = type(sys)("o1coder_sandbox_" + name)
        exec(code, module.__dict__)
        modules[name] = module
    modules["harness"].main(payload, modules)


if __name__ == "__main__":
    _start()

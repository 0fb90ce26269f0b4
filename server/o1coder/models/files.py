"""Checking model files: sha256, the GGUF magic and header, and verification sidecars.

A sidecar (`<file>.verified`) records size, mtime and sha256 after a full hash, so later loads
trust an unchanged file without re-hashing 500 MB (`o1coder models verify` re-hashes unless
`--quick`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from o1coder.models import gguf_file

BLOCK_SIZE = 8 * 1024 * 1024
GGUF_MAGIC = b"GGUF"
SIDECAR_SUFFIX = ".verified"

# progress(phase, bytes_done, bytes_total); phase is "assemble" or "verify"
Progress = Callable[[str, int, int], None]


def read_blocks(path: Path) -> Iterator[bytes]:
    """The bytes of a file in order, `BLOCK_SIZE` at a time."""
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK_SIZE):
            yield block


def sha256_file(path: Path, progress: Progress | None = None, phase: str = "verify") -> str:
    """Hex sha256 of a file, streamed in `BLOCK_SIZE` blocks."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    for block in read_blocks(path):
        digest.update(block)
        done += len(block)
        if progress:
            progress(phase, done, total)
    return digest.hexdigest()


def read_magic(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(4)


def has_gguf_magic(path: Path) -> bool:
    try:
        return read_magic(path) == GGUF_MAGIC
    except OSError:
        return False


@dataclass
class Check:
    """The state of one model file.

    status: "verified" (size+sha256 match, hashed now or trusted from the sidecar when `cached`),
    "unverified" (right size, not hashed), "missing", or "corrupt" (`detail` says how).
    `gguf` is the header summary when the structure was checked (`check_file(structure=True)`).
    """

    path: Path
    status: str
    expected_size: int
    expected_sha256: str
    size: int | None = None
    detail: str = ""
    cached: bool = False
    seconds: float = 0.0
    gguf: gguf_file.GGUFSummary | None = None

    @property
    def ok(self) -> bool:
        return self.status == "verified"


def check_structure(path: Path) -> tuple[gguf_file.GGUFSummary | None, str]:
    """Parse the GGUF header of `path` (milliseconds; the weights are not read).

    Returns (summary, "") or (None, what is wrong and where), e.g. "truncated: tensor
    blk.23.ffn_down.weight ends at byte 491,400,000 but the file has 10,485,760 bytes".
    """
    try:
        return gguf_file.read_gguf(path), ""
    except gguf_file.GGUFError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot read it ({exc.strerror or exc})"


def check_file(
    path: Path,
    size: int,
    sha256: str,
    *,
    quick: bool = True,
    hash_if_needed: bool = True,
    progress: Progress | None = None,
    structure: bool = False,
) -> Check:
    """Compare `path` with the expected size and sha256.

    quick: trust a sidecar whose size, mtime and sha256 match. hash_if_needed=False never hashes
    (a file with the right size and no valid sidecar is "unverified"). A full hash that matches
    writes the sidecar; one that does not removes it. structure: first parse the GGUF header
    (`check_structure`), even when the sidecar would be trusted; a bad header makes the file
    "corrupt" without hashing it.
    """
    start = time.perf_counter()
    check = Check(path=path, status="missing", expected_size=size, expected_sha256=sha256)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return check
    check.size = stat.st_size
    if not path.is_file():
        check.status, check.detail = "corrupt", "not a regular file"
        return check
    if stat.st_size != size:
        check.status, check.detail = "corrupt", f"size {stat.st_size:,} bytes, expected {size:,}"
        _drop_sidecar(path)
        return check
    if structure:
        check.gguf, problem = check_structure(path)
        if check.gguf is None:
            check.status, check.detail = "corrupt", problem
            check.seconds = time.perf_counter() - start
            _drop_sidecar(path)
            return check
    if quick and _sidecar_matches(path, stat, sha256):
        check.status, check.cached = "verified", True
    elif not hash_if_needed:
        check.status, check.detail = "unverified", "not hashed since it changed; run `o1coder models verify`"
    else:
        actual = sha256_file(path, progress)
        if actual == sha256:
            check.status = "verified"
            write_sidecar(path, sha256)
        else:
            check.status, check.detail = "corrupt", f"sha256 {actual}, expected {sha256}"
            _drop_sidecar(path)
    check.seconds = time.perf_counter() - start
    return check


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _sidecar_matches(path: Path, stat: os.stat_result, sha256: str) -> bool:
    try:
        data = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and data.get("size") == stat.st_size
        and data.get("mtime_ns") == stat.st_mtime_ns
        and data.get("sha256") == sha256
    )


def write_sidecar(path: Path, sha256: str) -> None:
    """Record that `path`, as it is now, hashes to `sha256` (best effort)."""
    stat = path.stat()
    data = {
        "sha256": sha256,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Best effort: a read-only directory only costs a re-hash next time.
    with contextlib.suppress(OSError):
        atomic_write_text(sidecar_path(path), json.dumps(data) + "\n")


def _drop_sidecar(path: Path) -> None:
    with contextlib.suppress(OSError):
        sidecar_path(path).unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

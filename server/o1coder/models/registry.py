"""Which model names are known and where their files are: catalog models and models added
from training manifests.

Layout (`models_dir()` is `$O1CODER_DATA_DIR/models`, else the platform's user data dir):

    <models_dir>/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf            an assembled catalog model
    <models_dir>/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf.verified   its verification sidecar
    <models_dir>/registry.json                                      models added from manifests

`add_manifest` registers a manifest (`o1coder models add`) after checking every file it lists;
`remove` unregisters one. Assembling catalog models is in `o1coder.models.install`, turning a
setting into a file in `o1coder.models.resolve`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from o1coder.models.catalog import CATALOG
from o1coder.models.errors import ModelCorruptError, ModelError, ModelNotFoundError, UnknownModelError
from o1coder.models.files import (
    Progress,
    atomic_write_text,
    check_file,
    check_structure,
    has_gguf_magic,
    read_magic,
)
from o1coder.models.manifest import NAME_RE, load_manifest

ENV_DATA_DIR = "O1CODER_DATA_DIR"
REGISTRY_FORMAT = "o1coder-registry/1"


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
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


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


# ---------------------------------------------------------------- known names


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

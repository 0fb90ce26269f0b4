"""Turning a role's setting into a checked GGUF file.

`resolve(name_or_path)` is what the engine calls for each role's setting: a catalog name,
a name added with `o1coder models add` (optionally "NAME:prm" / "NAME:tcg"), or a .gguf path.
Failures raise `ModelNotFoundError` / `ModelCorruptError` whose message is the fix to run.
"""

from __future__ import annotations

from pathlib import Path

from o1coder.config import ROLES
from o1coder.models.catalog import CATALOG, CatalogModel
from o1coder.models.errors import ModelCorruptError, ModelNotFoundError, UnknownModelError
from o1coder.models.files import GGUF_MAGIC, check_file, read_magic
from o1coder.models.registry import RegisteredModel, load_registry, models_dir, unknown_message

DEFAULT_SETTING = "o1coder.models.policy"


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

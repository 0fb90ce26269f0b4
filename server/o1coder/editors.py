"""Where the editor clients that ship with o1coder are on this machine.

A wheel (or an sdist built into one) carries the Neovim plugin as package data under
`o1coder/editors/nvim` (setup.py copies `editor-clients/nvim` there at build time). A
checkout (PYTHONPATH=server, or an editable install) has it at `editor-clients/nvim` next to
`server/`. `o1coder editor-path nvim` prints the one that exists, for a plugin manager's
`dir =` or a native package's symlink.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
EDITORS = ("nvim",)
# What a plugin needs to exist to be usable, per editor (checked before a path is handed out).
MARKERS = {"nvim": ("lua/o1coder/init.lua", "plugin/o1coder.lua", "lsp/o1coder.lua")}


class EditorNotFound(LookupError):
    """No copy of the editor client is installed with this o1coder."""


def candidates(editor: str) -> list[Path]:
    """The places the client may be, the installed package data first."""
    return [PACKAGE_DIR / "editors" / editor, PACKAGE_DIR.parents[1] / "editor-clients" / editor]


def editor_path(editor: str) -> Path:
    """The folder of the `editor` client (one of EDITORS) that this o1coder carries."""
    if editor not in EDITORS:
        raise EditorNotFound(f"no editor client named {editor!r}: o1coder ships {', '.join(EDITORS)}")
    places = candidates(editor)
    for place in places:
        if all((place / marker).is_file() for marker in MARKERS[editor]):
            return place
    raise EditorNotFound(
        f"the {editor} client is not installed with this o1coder (looked in {', '.join(map(str, places))}); "
        "reinstall o1-coder from a wheel or sdist built by `python -m build`, or use the repository's "
        f"editor-clients/{editor}"
    )

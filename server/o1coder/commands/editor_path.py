"""`o1coder editor-path nvim`: the folder of the Neovim plugin installed with o1coder.

For lazy.nvim's `dir =`, packer's path, or a native package's symlink (see
editor-clients/nvim/README.md). Exit status 1 when this o1coder carries no copy of it.
"""

from __future__ import annotations

import argparse
import sys

from o1coder.editors import EDITORS, EditorNotFound, editor_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "editor-path",
        help="print the folder of an editor plugin installed with o1coder (nvim)",
        description="Prints the folder of the editor plugin that ships with this o1coder: point "
        "lazy.nvim's `dir =` at it, or link it into ~/.local/share/nvim/site/pack/*/start/.",
    )
    p.add_argument("editor", choices=EDITORS, help="the editor (nvim: the Neovim plugin)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        print(editor_path(args.editor))
    except EditorNotFound as exc:
        print(f"o1coder editor-path: {exc}", file=sys.stderr)
        return 1
    return 0

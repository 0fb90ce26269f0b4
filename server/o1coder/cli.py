"""`o1coder` command line: solve, verify, eval, models, serve, editor-path."""

from __future__ import annotations

import argparse
import importlib
import sys

from o1coder import __version__

# Each subcommand module exposes add_parser(subparsers) and run(args) -> int.
SUBCOMMANDS = ("solve", "verify", "eval", "models", "serve", "editor_path")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="o1coder",
        description="Think first, then code: pseudocode-first search over a local GGUF coder model.",
    )
    parser.add_argument("--version", action="version", version=f"o1coder {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"o1coder.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("o1coder: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

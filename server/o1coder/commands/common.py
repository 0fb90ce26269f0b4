"""Pieces shared by the model-using subcommands (solve, eval): flags, settings, progress line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from o1coder.config import STRATEGIES, Settings, SettingsError
from o1coder.engine.types import ProgressEvent


def add_search_flags(parser: argparse.ArgumentParser, default_strategy: str = "mcts") -> None:
    parser.add_argument("--strategy", choices=STRATEGIES, default=default_strategy, help="search strategy")
    parser.add_argument("--budget-tokens", type=int, default=None, help="generated tokens, all roles")
    parser.add_argument("--budget-nodes", type=int, default=None, help="tree nodes (mcts)")
    parser.add_argument("--budget-seconds", type=float, default=None, help="wall-clock seconds")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--model", default=None, help="catalog name, added name or .gguf path for every role (see `o1coder models list`)"
    )
    parser.add_argument("--settings", type=Path, default=None, help="JSON file in the editor settings shape")
    parser.add_argument("--threads", type=int, default=None)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings file, then flags, validated; raises SettingsError naming the bad setting."""
    data: dict = {}
    if args.settings is not None:
        try:
            data = json.loads(args.settings.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SettingsError("(file)", f"cannot read settings file {args.settings}: {exc}") from exc
    settings = Settings.from_dict(data)
    search = {"strategy": args.strategy}
    for flag, key in (
        ("budget_tokens", "budgetTokens"),
        ("budget_nodes", "budgetNodes"),
        ("budget_seconds", "budgetSeconds"),
        ("seed", "seed"),
    ):
        if getattr(args, flag) is not None:
            search[key] = getattr(args, flag)
    models: dict = {}
    if args.model:
        models = {"policy": args.model, "prm": args.model, "tcg": args.model}
    if args.threads is not None:
        models["threads"] = args.threads
    return Settings.from_dict({"search": search, "models": models}, base=settings)


class StatusLine:
    """A live one-line progress display on stderr (a plain line per event when not a terminal,
    where the engine's pulses, repeats sent every second while a model call runs, are left out)."""

    def __init__(self, stream=sys.stderr, enabled: bool = True):
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()
        self._width = 0

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled or (event.pulse and not self.tty):
            return
        line = event.line()
        if self.tty:
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()


def fail(message: str, code: int = 2) -> int:
    print(f"o1coder: {message}", file=sys.stderr)
    return code


def replace_search(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, search=dataclasses.replace(settings.search, **changes))

"""`o1coder serve`: the language server, over stdio (default) or `--tcp [HOST:]PORT`.

Over TCP it binds 127.0.0.1 unless given a host, and serves one client at a time (a second
connection is refused with a JSON-RPC error; see o1coder.lsp.transport).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys

from o1coder.lsp.logging_setup import LEVELS, attach_client, default_log_file, setup_logging

DEFAULT_HOST = "127.0.0.1"

DESCRIPTION = (
    "Speak the Language Server Protocol to an editor: code actions to plan, implement and test "
    "Python functions with the local model, inline completion, progress and cancellation. "
    "Models load on first use. Logs go to the editor (window/logMessage) and to a rotating file "
    f"({default_log_file()})."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        default=None,
        help=(
            f"listen on a TCP socket instead of stdin/stdout, one client at a time (e.g. 2087, which binds "
            f"{DEFAULT_HOST}:2087; give a HOST such as 0.0.0.0 only to let other machines connect)"
        ),
    )
    parser.add_argument("--log-level", choices=LEVELS, default="info", help="log level (default: info)")
    parser.add_argument("--log-file", default=None, help="log file (default: server.log in the user log dir)")
    # For tests: MODULE:ATTR, a callable (settings -> engine) that stands in for the real engine
    # (see o1coder.lsp.engine_factory); hidden from --help.
    parser.add_argument("--engine-factory", default=None, help=argparse.SUPPRESS)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the language server (stdio, or --tcp [HOST:]PORT)", description=DESCRIPTION)
    add_arguments(p)
    p.set_defaults(func=run)


def parse_tcp(value: str) -> tuple[str, int]:
    """("host", port) from "[HOST:]PORT" (IPv6 as "[::1]:PORT"; no host: 127.0.0.1); ValueError saying what is wrong."""
    host, _, port_text = value.rpartition(":")
    if not port_text.isdigit():
        raise ValueError(f"--tcp wants [HOST:]PORT, e.g. 2087 or 127.0.0.1:2087; got {value!r}")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"--tcp port must be between 1 and 65535; got {port}")
    return host.strip("[]") or DEFAULT_HOST, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    address = None
    if args.tcp:
        try:
            address = parse_tcp(args.tcp)
        except ValueError as exc:
            print(f"o1coder serve: {exc}", file=sys.stderr)
            return 2
    from pathlib import Path

    log_file = setup_logging(args.log_level, Path(args.log_file) if args.log_file else None)
    from o1coder.lsp import engine_factory, transport
    from o1coder.lsp.server import server

    if args.engine_factory:
        try:
            server.engine_factory = engine_factory.load(args.engine_factory)
        except (ImportError, AttributeError, ValueError) as exc:
            print(f"o1coder serve: cannot use --engine-factory {args.engine_factory}: {exc}", file=sys.stderr)
            return 2
    attach_client(server, args.log_level)
    log = logging.getLogger("o1coder.serve")
    log.debug("log file: %s", log_file)
    # The worker thread runs Python between llama.cpp calls; a short switch interval keeps the
    # event loop's answers (code actions, didChange) prompt while it does.
    sys.setswitchinterval(0.001)
    if address is None:
        return transport.serve_stdio(server)
    host, port = address
    if not is_loopback(host):
        warning = (
            f"--tcp {host}: anyone who can reach this address can run commands as you; "
            f"use {DEFAULT_HOST} unless other machines must connect"
        )
        print(f"o1coder serve: warning: {warning}", file=sys.stderr, flush=True)
        log.warning("%s", warning)

    def listening(addresses: str) -> None:
        print(f"o1coder serve: listening on {addresses} (one client at a time)", file=sys.stderr, flush=True)

    try:
        return transport.serve_tcp(server, host, port, listening)
    except OSError as exc:
        print(f"o1coder serve: cannot listen on {host}:{port}: {exc}; choose another port", file=sys.stderr)
        return 1

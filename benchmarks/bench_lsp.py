"""Language-server latencies: code-action listing (idle and during a search) and cancellation.

Runs the real server (`python -m o1coder.lsp`) over stdio with the real default model and
prints one JSON object. Not a test: it asserts nothing, the README quotes its numbers.

    python benchmarks/bench_lsp.py [--requests 300] [--cancels 5] [--out results.json]

- listing: client round trip of textDocument/codeAction on a 2,000-line module, at
  positions spread over the file, while idle and while an MCTS search runs (a didChange
  every 20 requests, so the server never answers from an unchanged document);
- cancellation: an MCTS search is started, allowed to reach the tree search and decode for a
  moment, then cancelled with `$/cancelRequest`, `window/workDoneProgress/cancel` and
  `o1coder.cancel` in turn; a few more are cancelled while the test generator writes.
  `stop_ms` is the server's own measure from the cancel to the worker thread returning
  (from its "stopped N ms after the cancel" log line, or o1coder.cancel's answer);
  `answer_ms` is the client's wait from sending the cancel to the request's answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pygls.lsp.client import LanguageClient

# A long search to list and cancel during (directAnswerFirst off: the easy stub's direct answer
# would otherwise end it at once).
SEARCH = {
    "strategy": "mcts",
    "budgetTokens": 50000,
    "budgetNodes": 500,
    "budgetSeconds": 900,
    "directAnswerFirst": False,
}
STOPPED = re.compile(r"stopped (\d+) ms after the cancel")
STUB = '''def stub_{i}(numbers: list[int]) -> list[int]:
    """Return the running maximum of `numbers`.

    >>> stub_{i}([1, 3, 2, 5, 4])
    [1, 3, 3, 5, 5]
    """
    pass
'''
PLAIN = "def f_{i}(x: int) -> int:\n    y = x * {i}\n    if y > 10:\n        return y - 1\n    return y + 1\n"


def module(lines_wanted: int = 2000) -> str:
    parts: list[str] = []
    i = 0
    while sum(p.count("\n") + 2 for p in parts) < lines_wanted:
        parts.append((STUB if i % 25 == 24 else PLAIN).format(i=i))
        i += 1
    return "\n\n".join(parts)


class BenchClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("o1coder-bench", "1")
        self.logs: list[str] = []
        self.progress: dict[Any, list[Any]] = {}
        self.edits = 0


def make_client() -> BenchClient:
    client = BenchClient()

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def log_message(params: types.LogMessageParams) -> None:
        client.logs.append(params.message)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        client.logs.append(params.message)

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def create(params: types.WorkDoneProgressCreateParams) -> None:
        client.progress.setdefault(params.token, [])

    @client.feature(types.PROGRESS)
    def progress(params: types.ProgressParams) -> None:
        client.progress.setdefault(params.token, []).append(params.value)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.edits += 1
        return types.ApplyWorkspaceEditResult(applied=False, failure_reason="benchmark: never applied")

    return client


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 2),
        "p99": round(p99, 2),
        "max": round(ordered[-1], 2),
    }


async def wait_for(predicate, timeout: float = 600.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.005)
    raise TimeoutError("the server did not get there in time")


def working(client: BenchClient, phase: str = "") -> bool:
    """A job is past loading the model (and reports `phase`, e.g. "searching"): it is decoding."""
    return any(
        isinstance(v, dict)
        and v.get("kind") == "report"
        and not str(v.get("message", "")).startswith("loading")
        and str(v.get("message", "")).startswith(phase)
        for values in client.progress.values()
        for v in values
    )


async def list_actions(client: BenchClient, uri: str, lines: list[int], count: int, edit_every: int = 0) -> list[float]:
    timings = []
    version = 1
    for n in range(count):
        if edit_every and n % edit_every == edit_every - 1:
            version += 1  # a no-op edit: a new version the server has never listed for
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
                            text="",
                        )
                    ],
                )
            )
        line = lines[(n * 37) % len(lines)]
        position = types.Position(line=line, character=4)
        started = time.perf_counter()
        await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=position, end=position),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def execute(client: BenchClient, arguments: dict[str, Any], msg_id: str) -> asyncio.Future:
    return asyncio.ensure_future(
        client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="o1coder.implement", arguments=[arguments]),
            msg_id=msg_id,
        )
    )


async def cancel_once(
    client: BenchClient, uri: str, line: int, how: str, n: int, decode_s: float, phase: str
) -> dict[str, Any]:
    client.progress.clear()
    seen = len([m for m in client.logs if STOPPED.search(m)])
    msg_id = f"bench-{how}-{n}"
    running = execute(client, {"uri": uri, "position": {"line": line, "character": 4}}, msg_id)
    await wait_for(lambda: working(client, phase))
    await asyncio.sleep(decode_s)  # let it decode a little: cancel mid-generation, not at a boundary
    started = time.perf_counter()
    stop_ms: float | None = None
    if how == "cancelRequest":
        client.cancel_request(types.CancelParams(id=msg_id))
    elif how == "progressCancel":
        [token] = list(client.progress)
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    else:
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="o1coder.cancel", arguments=[uri])
        )
        stop_ms = answer["cancelled"][0]["stopMs"]
    try:
        result = await running
        applied = bool(result.get("applied"))
    except JsonRpcRequestCancelled:
        applied = False
    answer_ms = (time.perf_counter() - started) * 1000
    if stop_ms is None:
        lines = await wait_for(lambda: [m for x in client.logs if (m := STOPPED.search(x))][seen:], timeout=60)
        stop_ms = float(lines[0].group(1))
    return {"how": how, "phase": phase or "writing tests", "stop_ms": stop_ms, "answer_ms": round(answer_ms, 2), "applied": applied}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="o1coder-bench-"))
    text = module()
    path = root / "big.py"
    path.write_text(text)
    uri = path.as_uri()
    lines = text.split("\n")
    stub_lines = [i + 6 for i, ln in enumerate(lines) if ln.startswith("def stub_")]
    positions = [i + 1 for i, ln in enumerate(lines) if ln.startswith("def ")]

    client = make_client()
    await client.start_io(sys.executable, "-m", "o1coder.lsp", "--log-level", "info")
    capabilities = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True),
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True, workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)
        ),
    )
    started = time.perf_counter()
    await client.initialize_async(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            initialization_options={"o1coder": {"search": SEARCH}},
        )
    )
    initialize_ms = (time.perf_counter() - started) * 1000
    client.initialized(types.InitializedParams())
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )

    idle = await list_actions(client, uri, positions, args.requests, edit_every=20)

    client.progress.clear()
    running = execute(client, {"uri": uri, "position": {"line": stub_lines[0], "character": 4}}, "bench-search")
    await wait_for(lambda: working(client))
    during = await list_actions(client, uri, positions, args.requests, edit_every=20)
    searching = not running.done()
    client.cancel_request(types.CancelParams(id="bench-search"))
    with contextlib.suppress(JsonRpcRequestCancelled):
        await running
    await wait_for(lambda: [m for m in client.logs if STOPPED.search(m)])

    cancels = []
    for n in range(args.cancels):
        for how in ("cancelRequest", "progressCancel", "o1coder.cancel"):
            line = stub_lines[n % len(stub_lines)]
            cancels.append(await cancel_once(client, uri, line, how, n, args.decode_seconds, "searching"))
    during_tests = []
    for n in range(args.cancels_writing_tests):
        line = stub_lines[n % len(stub_lines)]
        during_tests.append(await cancel_once(client, uri, line, "cancelRequest", 100 + n, args.decode_seconds, ""))

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    stop_times = [c["stop_ms"] for c in cancels]
    test_writing_stops = [c["stop_ms"] for c in during_tests]
    return {
        "benchmark": "lsp",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
        "document_lines": len(lines),
        "initialize_ms": round(initialize_ms, 2),
        "code_action_listing_idle_ms": stats(idle),
        "code_action_listing_during_search_ms": stats(during),
        "search_still_running_after_listing": searching,
        "cancel_during_search_stop_ms": stats(stop_times),
        "cancel_answer_ms": stats([c["answer_ms"] for c in cancels]),
        "cancel_by_method_stop_ms": {
            how: stats([c["stop_ms"] for c in cancels if c["how"] == how])
            for how in ("cancelRequest", "progressCancel", "o1coder.cancel")
        },
        "cancel_while_writing_tests_stop_ms": stats(test_writing_stops) if test_writing_stops else None,
        "edits_applied_after_cancel": sum(c["applied"] for c in cancels + during_tests) + client.edits,
        "cancels": cancels + during_tests,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="code-action requests per phase")
    parser.add_argument("--cancels", type=int, default=5, help="cancellations per method, during the tree search")
    parser.add_argument(
        "--cancels-writing-tests", type=int, default=3, help="cancellations while the test generator writes"
    )
    parser.add_argument("--decode-seconds", type=float, default=0.7, help="decoding before each cancel")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    report = asyncio.run(main(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")

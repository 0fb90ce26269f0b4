"""End-to-end harness: the real server over stdio, driven by a pytest-lsp client that acts
like an editor (it applies `workspace/applyEdit` to its own copy of each document when the
version matches, then sends `didChange`, and records what the server asked for).

`fake_engine_server` starts the same server with the FAKE engine of fake_engine.py in place of
the real one, for tests of the work path that need no model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import attrs
import fake_engine
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features

SERVER_COMMAND = [sys.executable, "-m", "o1coder.lsp", "--log-level", "info"]

# Small budgets: these tests are about plumbing, not answer quality.
FAST_SETTINGS: dict[str, Any] = {
    "search": {"strategy": "greedy", "budgetTokens": 400, "numTests": 3, "budgetSeconds": 120},
    "models": {"contextSize": 4096, "parallelSequences": 4},
    "editor": {"completionBudgetTokens": 360},
}

CAPABILITIES = types.ClientCapabilities(
    window=types.WindowClientCapabilities(
        work_done_progress=True,
        show_message=types.ShowMessageRequestClientCapabilities(
            message_action_item=types.ClientShowMessageActionItemOptions(additional_properties_support=False)
        ),
    ),
    workspace=types.WorkspaceClientCapabilities(
        apply_edit=True,
        configuration=False,
        workspace_edit=types.WorkspaceEditClientCapabilities(
            document_changes=True,
            resource_operations=[types.ResourceOperationKind.Create],
            failure_handling=types.FailureHandlingKind.Transactional,
        ),
    ),
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(value_set=[types.CodeActionKind.RefactorRewrite])
            ),
            resolve_support=types.ClientCodeActionResolveOptions(properties=["command"]),
            data_support=True,
        ),
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(),
    ),
)


def apply_text(text: str, text_edits: list[types.TextEdit]) -> str:
    """An editor's applyEdit for ASCII test documents (independent of the server's own helper)."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return starts[position.line] + min(position.character, len(lines[position.line]))

    for edit in sorted(text_edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


class EditorClient(LanguageClient):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.documents: dict[str, tuple[int, str]] = {}  # open documents: uri -> (version, text)
        self.files: dict[str, str] = {}  # files the server created or edited without opening them
        self.edit_requests: list[types.ApplyWorkspaceEditParams] = []
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.initialize_result: types.InitializeResult | None = None
        self.initialize_seconds = 0.0

    def open(self, path: Path, text: str) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        uri = path.as_uri()
        self.documents[uri] = (1, text)
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri

    def change(self, uri: str, text: str) -> int:
        version = self.documents[uri][0] + 1
        self.documents[uri] = (version, text)
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return version

    def text(self, uri: str) -> str:
        return self.documents[uri][1] if uri in self.documents else self.files[uri]

    def doc_version(self, uri: str) -> int:
        return self.documents[uri][0]

    async def execute(self, command: str, *arguments: Any) -> Any:
        return await self.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=list(arguments))
        )

    def work_args(self, uri: str, line: int, character: int = 4, version: int | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {"uri": uri, "position": {"line": line, "character": character}}
        if version is not None:
            args["version"] = version
        return args

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 120.0) -> Any:
        """Wait for client-side state (a message, a progress report) instead of sleeping."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for the server")

    def progress_titles(self) -> list[str]:
        return [
            report.title
            for reports in self.progress_reports.values()
            for report in reports
            if isinstance(report, types.WorkDoneProgressBegin)
        ]

    def log_lines(self) -> list[str]:
        return [m.message for m in self.log_messages]


def apply_workspace_edit(client: EditorClient, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
    client.edit_requests.append(params)
    changes = params.edit.document_changes or []
    for change in changes:  # transactional: check every versioned document first
        if isinstance(change, types.TextDocumentEdit):
            uri, version = change.text_document.uri, change.text_document.version
            if uri in client.documents and version is not None and version != client.documents[uri][0]:
                return types.ApplyWorkspaceEditResult(
                    applied=False, failure_reason=f"{uri} is at version {client.documents[uri][0]}, not {version}"
                )
    for change in changes:
        if isinstance(change, types.CreateFile):
            client.files.setdefault(change.uri, "")
        elif isinstance(change, types.TextDocumentEdit):
            uri = change.text_document.uri
            text_edits = [e for e in change.edits if isinstance(e, types.TextEdit)]
            if uri in client.documents:
                client.change(uri, apply_text(client.documents[uri][1], text_edits))
            else:
                client.files[uri] = apply_text(client.files.get(uri, ""), text_edits)
    client.applied.append(params)
    return types.ApplyWorkspaceEditResult(applied=True)


def show_message_request(client: EditorClient, params: types.ShowMessageRequestParams) -> None:
    client.message_requests.append(params)
    return None  # the user dismissed it


def make_client() -> EditorClient:
    client = EditorClient(converter_factory=default_converter)
    register_lsp_features(client)
    client.feature(types.WORKSPACE_APPLY_EDIT)(apply_workspace_edit)
    client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)(show_message_request)
    return client


CONFIG = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client)


@contextlib.asynccontextmanager
async def fake_engine_server(
    root: Path, script: Path, params: types.InitializeParams | None = None, configuration: Any = None
) -> AsyncIterator[EditorClient]:
    """An initialized client of the real server whose engine is fake_engine.FakeEngine reading `script`.

    `params` replace initialize_params(root); `configuration` is the `o1coder` section the client
    answers workspace/configuration with (pytest-lsp's; the server asks right after `initialized`
    when `params` say the client can answer)."""
    here = str(Path(__file__).resolve().parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    config = ClientServerConfig(
        server_command=[*SERVER_COMMAND, "--engine-factory", "fake_engine:FakeEngine"],
        client_factory=make_client,
        server_env={**os.environ, "PYTHONPATH": path, fake_engine.SCRIPT_ENV: str(script)},
    )
    client = await config.start()
    assert isinstance(client, EditorClient)
    if configuration is not None:
        client.set_configuration({"o1coder": configuration})
    try:
        await client.initialize_session(params or initialize_params(root))
        yield client
    finally:  # also after a failed check: stop() waits for the process, which only exit ends
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 30)
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
        await client.stop()


def initialize_params(
    root: Path, options: dict[str, Any] | None = None, configuration: bool = False
) -> types.InitializeParams:
    """`configuration`: the client answers workspace/configuration (as VS Code and Neovim do)."""
    capabilities = CAPABILITIES
    if configuration:
        workspace = attrs.evolve(CAPABILITIES.workspace, configuration=True)
        capabilities = attrs.evolve(CAPABILITIES, workspace=workspace)
    return types.InitializeParams(
        capabilities=capabilities,
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options={"o1coder": FAST_SETTINGS if options is None else options},
        client_info=types.ClientInfo(name="o1coder-tests"),
    )


async def send_raw(client: EditorClient, method: str, params: Any) -> Any:
    """Send a request exactly as given (malformed params included) and await its answer."""
    msg_id = f"raw-{uuid.uuid4()}"
    future: Future = Future()
    client.protocol._request_futures[msg_id] = future
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode()
    written = client.protocol.writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    if asyncio.iscoroutine(written):
        await written
    return await asyncio.wait_for(asyncio.wrap_future(future), 30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
    }


STUB_MODULE = '''\
def running_max(numbers: list[int]) -> list[int]:
    """Return the running maximum of `numbers`.

    >>> running_max([1, 3, 2, 5, 4])
    [1, 3, 3, 5, 5]
    >>> running_max([])
    []
    """
    pass
'''


def long_module(functions: int = 400) -> str:
    """A ~2,000-line module of implemented functions with stubs spread through it."""
    parts = []
    for i in range(functions):
        if i % 30 == 29:
            parts.append(f'def stub_{i}(xs: list[int]) -> int:\n    """Sum of the even numbers in xs."""\n    pass\n')
        else:
            parts.append(f"def f_{i}(x: int) -> int:\n    y = x * {i}\n    return y + 1\n")
    return "\n\n".join(parts)

"""The o1coder language server: state on one LanguageServer subclass, thin handlers.

Each handler gets the document, calls a pure module (code_actions, edits, completion,
configuration) or submits model work (work_runner, jobs), and converts the result. Model work
never runs on the event loop, so listing actions, hover and didChange are answered while a
search runs. Nothing loads a model before it is first needed: `initialize` answers at once.
The engine comes from the server's `engine_factory` (see engine_factory.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.workspace import TextDocument

from o1coder import __version__
from o1coder.config import DEFAULT_MODEL, ROLES, Settings, SettingsError
from o1coder.engine.types import Budget
from o1coder.lsp import code_actions, commands, completion, configuration, hover, messages, work_runner
from o1coder.lsp.engine_factory import EngineFactory, WorkEngine, default_engine
from o1coder.lsp.jobs import Jobs
from o1coder.lsp.text import is_python_document
from o1coder.lsp.work_args import WorkArgs, parse_document
from o1coder.lsp.work_commands import (
    ACTION_KINDS,
    CANCEL,
    RETRY,
    SHOW_MODELS,
    SHOW_TREE,
    WORK_COMMANDS,
    WorkCommand,
)
from o1coder.lsp.work_types import WorkError

log = logging.getLogger(__name__)


REJECTED = object()  # a request answered with an error before dispatch


class O1CoderProtocol(LanguageServerProtocol):
    """pygls' protocol, with fixes for a server that must keep answering.

    - Bodies come from our framing (framing.read_frames), not pygls' reader: a body that is not
      JSON gets ParseError (-32700, id null); a message that is not JSON-RPC 2.0 gets
      InvalidRequest (-32600); a request before `initialize` gets ServerNotInitialized
      (-32002), one after `shutdown` InvalidRequest (see messages.py). pygls dropped them all
      silently.
    - A request whose params do not match the LSP types gets an InvalidParams error
      response naming the bad field (pygls would log it and never answer).
    - `shutdown` while a request is in flight answers instead of failing.
    - `$/cancelRequest` also stops the request's model work: pygls only cancels the
      request's future, and a running thread would keep going, so the job's CancelToken
      is set too.
    - `reset_session` forgets a TCP client that left, so the next one starts afresh.
    """

    def __init__(self, server: LanguageServer, converter: Any) -> None:
        super().__init__(server, converter)
        self.initialized = False  # an initialize request was accepted on this connection

    # ------------------------------------------------------------ bodies from framing.read_frames
    def receive_body(self, body: bytes) -> bool:
        """Parse, check and dispatch one frame's body; False when it is not JSON (answered -32700)."""
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            detail = f"{type(exc).__name__}: {str(exc)[:200]}"
            self.send_error(
                None,
                messages.PARSE_ERROR,
                f"the message body is not valid UTF-8 JSON ({detail}); check that Content-Length counts "
                "the body's bytes exactly",
            )
            return False
        self.receive(data)
        return True

    def framing_error(self, reason: str) -> None:
        """Answer bytes that are not a frame; framing skips to the next Content-Length header."""
        self.send_error(None, messages.PARSE_ERROR, f"malformed frame: {reason}; skipped to the next Content-Length header")

    def receive(self, data: Any) -> None:
        """Check one parsed message against JSON-RPC and the LSP lifecycle, then hand it to pygls."""
        problem = messages.invalid_reason(data)
        if problem is not None:
            self.send_error(messages.usable_id(data), messages.INVALID_REQUEST, f"invalid request: {problem}")
            return
        method = data.get("method")
        if method is not None:
            is_request = "id" in data
            refusal = messages.lifecycle_refusal(method, is_request, self.initialized, self._shutdown)
            if refusal is not None:
                if refusal.code is None:
                    log.warning("dropped the %s notification: %s", method, refusal.message)
                else:
                    self.send_error(data["id"], refusal.code, refusal.message)
                return
        try:
            message = self.structure_message(data)
        except JsonRpcException as exc:  # a notification or response whose fields do not match the LSP types
            log.warning("ignored a %s message: %s", method or "response", _validation_detail(exc))
            return
        if message is REJECTED:
            return
        if method == messages.INITIALIZE:
            self.initialized = True
        self.handle_message(message)

    def send_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """Send an error response (id null when the message's id is unknown) and log it."""
        log.warning("answered error %d to request %s: %s", code, "null" if msg_id is None else msg_id, message)
        self._send_data({"jsonrpc": self.VERSION, "id": msg_id, "error": {"code": code, "message": message}})

    def reset_session(self) -> None:
        """Forget the client's session (a TCP client left without exit): the next one must initialize."""
        for future in list(self._request_futures.values()):
            if not future.done():
                future.cancel()
        self._request_futures.clear()
        self._result_types.clear()
        self.progress.tokens.clear()
        self._workspace = None
        self._shutdown = False
        self.initialized = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and isinstance(data.get("method"), str):
                detail = _validation_detail(exc)
                error = JsonRpcInvalidParams(f"invalid params for {data['method']}: {detail}")
                log.warning("rejected %s request %s: %s", data["method"], data["id"], detail)
                self._send_response(data["id"], error=error.to_response_error())
                return REJECTED
            raise

    def handle_message(self, message: Any) -> None:
        if message is REJECTED:
            return
        super().handle_message(message)

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls' shutdown, iterating over a copy: cancelling a request's future removes it from
        the dict pygls iterates, which made a shutdown during a search fail."""
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        super()._handle_cancel_notification(msg_id)
        server = self._server
        if isinstance(server, O1CoderServer):
            server.jobs.cancel_request(msg_id)


def _validation_detail(exc: Exception) -> str:
    cause = exc.__cause__
    if isinstance(cause, ClassValidationError):
        return "; ".join(transform_error(cause, path="message")[:3])
    return str(cause or exc) or type(exc).__name__


class O1CoderServer(LanguageServer):
    protocol: O1CoderProtocol

    def __init__(self, engine_factory: EngineFactory = default_engine) -> None:
        super().__init__("o1coder", __version__, protocol_cls=O1CoderProtocol, max_workers=4)
        self.settings = Settings()
        self.engine_factory = engine_factory  # `--engine-factory` replaces it before the server starts
        self.engine: WorkEngine | None = None
        self._engine_lock = threading.Lock()
        self.jobs = Jobs()
        self.last_refused: work_runner.Refused | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._last_once = ""
        self._settings_problems: list[tuple[str, str]] | None = None  # the last ones reported

    def shutdown(self) -> None:
        """When the process ends (exit, or stdin closed): stop model work so it can exit."""
        self.jobs.shutdown()
        super().shutdown()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls' report (a showMessage), except when sending itself failed: showing that would fail
        again, and recurse until RecursionError (pygls logged the failure already)."""
        if source is JsonRpcInternalError:
            return
        super().report_server_error(error, source)

    def end_session(self) -> None:
        """A TCP client left without `exit`: stop its work and forget it; the next client must initialize.

        Loaded models stay loaded; settings go back to the defaults before the next client's own.
        """
        self.jobs.cancel(reason="the client disconnected")
        self.protocol.reset_session()
        self.last_refused = None
        self._last_once = ""
        self._settings_problems = None
        defaults = Settings()
        if configuration.describe_change(self.settings, defaults):
            self.settings = defaults
            if self.engine is not None:
                engine = self.engine
                self.jobs.run_on_worker(lambda: engine.update_settings(defaults))

    # ------------------------------------------------------------ engine
    def get_engine(self) -> WorkEngine:
        """The engine, created on first use (on the worker thread: imports and no model load)."""
        with self._engine_lock:
            if self.engine is None:
                self.engine = self.engine_factory(self.settings)
            return self.engine

    def settings_budget(self) -> Budget:
        s = self.settings.search
        return Budget(tokens=s.budget_tokens, nodes=s.budget_nodes, seconds=s.budget_seconds)

    # ------------------------------------------------------------ settings
    def apply_settings(self, data: Any, source: str) -> bool:
        """Layer the client's `o1coder` settings over the current ones: the valid ones apply, each
        bad one keeps its value. False when some were bad; the user gets one error naming them
        all, once: the same settings arrive by up to three routes at startup (initializationOptions,
        workspace/configuration, didChangeConfiguration), and an unchanged bad value that comes
        again with another change is not reported again."""
        old = self.settings
        new, problems = configuration.layer_settings(old, data)
        self.report_settings_problems(problems, source)
        changed = configuration.describe_change(old, new)
        if changed:
            self.settings = new
            log.info("settings from %s: %s changed", source, ", ".join(changed))
            if self.engine is not None:
                engine = self.engine
                self.jobs.run_on_worker(lambda: engine.update_settings(new))  # between jobs, never during one
            roles = configuration.changed_roles(old, new)
            if roles:
                self.check_models(roles)
        return not problems

    def report_settings_problems(self, problems: list[tuple[str, str]], source: str) -> None:
        if not problems:
            self._settings_problems = None
            return
        log.warning("rejected settings from %s: %s", source, SettingsError.of(problems))
        if problems == self._settings_problems:
            return  # reported already (the same bad values, by another route or beside another change)
        self._settings_problems = problems
        self.show(configuration.settings_problem_message(problems), types.MessageType.Error)

    def check_models(self, roles: list[str] | tuple[str, ...] = ROLES) -> None:
        """Tell the user (without loading anything) about roles whose model file is missing or corrupt."""
        models = self.settings.models

        def check() -> list[tuple[str, Exception]]:
            from o1coder.models.pool import resolve_role

            problems = []
            for role in roles:
                try:
                    resolve_role(models, role)
                except Exception as exc:
                    problems.append((role, exc))
            return problems

        def report(future: Any) -> None:
            try:
                problems = future.result()
            except Exception as exc:  # the check itself failed: say so, keep going
                log.warning("could not check the model files: %s", exc)
                return
            if self.settings.models is not models:
                return  # settings changed again meanwhile; that change runs its own check
            for role, exc in problems:
                self.show(role_error_message(role, exc), types.MessageType.Error)

        future = self.thread_pool.submit(check)
        future.add_done_callback(lambda f: self.call_soon(report, f))

    # ------------------------------------------------------------ client I/O
    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the event loop thread (directly when already on it)."""
        loop = self.loop
        if loop is None or threading.get_ident() == self._loop_thread:
            fn(*args)
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is exiting
            loop.call_soon_threadsafe(fn, *args)

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.call_soon(self.window_show_message, types.ShowMessageParams(type=kind, message=message))

    def show_once(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """`show`, unless this very message was the last one shown this way (completions retry often)."""
        if message != self._last_once:
            self._last_once = message
            self.show(message, kind)

    def offer_retry(self, message: str) -> None:
        """Tell the user an edit was refused, with a Retry action that runs o1coder.retry."""
        if not get_capability(self.client_capabilities, "window.show_message.message_action_item", None):
            self.show(f"{message} (run the o1coder.retry command)", types.MessageType.Warning)
            return

        async def ask() -> None:
            try:
                choice = await self.window_show_message_request_async(
                    types.ShowMessageRequestParams(
                        type=types.MessageType.Warning,
                        message=message,
                        actions=[types.MessageActionItem(title=work_runner.RETRY_TITLE)],
                    )
                )
            except Exception as exc:
                log.debug("showMessageRequest failed: %s", exc)
                return
            if choice is not None and choice.title == work_runner.RETRY_TITLE:
                await work_runner.retry(self)

        asyncio.ensure_future(ask())

    def supports_document_changes(self) -> bool:
        return bool(get_capability(self.client_capabilities, "workspace.workspace_edit.document_changes", False))

    def can_create_files(self) -> bool:
        operations = get_capability(self.client_capabilities, "workspace.workspace_edit.resource_operations", None)
        return self.supports_document_changes() and bool(operations) and types.ResourceOperationKind.Create in operations

    def client_resolves_command(self) -> bool:
        properties = get_capability(self.client_capabilities, "text_document.code_action.resolve_support.properties", [])
        return "command" in (properties or [])

    def describe_failure(self, exc: Exception) -> str:
        """One line for the user: what failed and what to do."""
        from o1coder.engine.problem import ProblemError
        from o1coder.models.pool import RoleError

        if isinstance(exc, RoleError):
            return role_error_message(exc.role, exc.cause)
        if isinstance(exc, ProblemError | WorkError):
            return str(exc)
        if isinstance(exc, ImportError):
            log.exception("the engine cannot be imported")
            return f"the o1coder engine cannot be loaded ({exc}); reinstall o1-coder"
        log.exception("work failed")
        return f"{type(exc).__name__}: {exc} (details in the o1coder log)"


def role_error_message(role: str, exc: Exception) -> str:
    """Which role's model cannot be used, why, and the `o1coder models ...` command that fixes it."""
    cause = getattr(exc, "cause", exc)
    text = str(cause)
    if "o1coder models" not in text:
        text += (
            f"; run `o1coder models list` to see the installed models, or `o1coder models install {DEFAULT_MODEL}` "
            f"and set o1coder.models.{role} to {DEFAULT_MODEL}"
        )
    return f"o1coder: the {role} model cannot be used: {text}"


def is_python(doc: TextDocument) -> bool:
    return is_python_document(doc.language_id, doc.uri)


server = O1CoderServer()


# ---------------------------------------------------------------- lifecycle and settings


@server.feature(types.INITIALIZE)
def initialize(ls: O1CoderServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    ls._loop_thread = threading.get_ident()
    if params.initialization_options is not None:
        ls.apply_settings(params.initialization_options, "initializationOptions")
    log.info("o1coder %s: initialize from %s", __version__, params.client_info.name if params.client_info else "a client")


@server.feature(types.INITIALIZED)
async def initialized(ls: O1CoderServer, params: types.InitializedParams) -> None:
    await pull_configuration(ls)
    ls.check_models()


async def pull_configuration(ls: O1CoderServer) -> None:
    if not get_capability(ls.client_capabilities, "workspace.configuration", False):
        return
    try:
        [section] = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=configuration.SECTION)])
            ),
            timeout=5.0,
        )
    except Exception as exc:
        log.debug("workspace/configuration failed: %s", exc)
        return
    if section:
        ls.apply_settings({configuration.SECTION: section}, "workspace/configuration")


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: O1CoderServer, params: types.DidChangeConfigurationParams) -> None:
    try:
        section = configuration.extract_section(params.settings)
    except SettingsError:
        section = {}  # let apply_settings report it
    if section is None:
        await pull_configuration(ls)  # the client sent a bare notification: ask for the section
        return
    ls.apply_settings(params.settings, "workspace/didChangeConfiguration")


@server.feature(types.SHUTDOWN)
def shutdown(ls: O1CoderServer, params: None) -> None:
    # Cancel, but keep the worker: over TCP the next client may use it. The process's end
    # (exit, or the input closing) shuts it down.
    ls.jobs.cancel(reason="the server is shutting down")


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: O1CoderServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.jobs.cancel(params.text_document.uri, reason="the document was closed")


@server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
def work_done_progress_cancel(ls: O1CoderServer, params: types.WorkDoneProgressCancelParams) -> None:
    ls.jobs.cancel_progress(params.token)


# ---------------------------------------------------------------- features


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=ACTION_KINDS, resolve_provider=True),
)
def code_action(ls: O1CoderServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    if not is_python(doc):
        return []
    return code_actions.list_actions(
        doc.source,
        doc.uri,
        doc.version,
        params.range,
        params.context.only,
        with_command=not ls.client_resolves_command(),
    )


@server.feature(types.CODE_ACTION_RESOLVE)
def code_action_resolve(ls: O1CoderServer, action: types.CodeAction) -> types.CodeAction:
    return code_actions.resolve(action)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover_feature(ls: O1CoderServer, params: types.HoverParams) -> types.Hover | None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    if not is_python(doc):
        return None
    job = ls.jobs.active(doc.uri)
    return hover.hover(doc.source, params.position, job.status if job is not None else None)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(
    ls: O1CoderServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    return await completion.inline_completion(ls, params)


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[]))
async def complete(ls: O1CoderServer, params: types.CompletionParams) -> types.CompletionList | None:
    return await completion.completion(ls, params)


# ---------------------------------------------------------------- commands


def work_handler(command: WorkCommand) -> Callable[..., Awaitable[dict[str, Any]]]:
    """The handler of one work command: typed arguments in, the runner's answer out.

    It takes `*arguments` and parses them itself (WorkArgs.parse), so that a missing or extra
    argument is answered with what the argument must look like.
    """

    async def run(ls: O1CoderServer, *arguments: Any) -> dict[str, Any]:
        return await work_runner.run(ls, command, WorkArgs.parse(command.id, arguments), ls.protocol.msg_id)

    return run


def register_work_commands(ls: O1CoderServer) -> None:
    for command in WORK_COMMANDS:
        ls.command(command.id)(work_handler(command))


register_work_commands(server)


@server.command(CANCEL)
async def cancel_command(ls: O1CoderServer, *arguments: Any) -> dict[str, Any]:
    return await commands.cancel(ls, parse_document(CANCEL, arguments))


@server.command(SHOW_MODELS)
async def show_models_command(ls: O1CoderServer, *arguments: Any) -> dict[str, Any]:
    return await asyncio.get_running_loop().run_in_executor(ls.thread_pool, commands.show_models, ls)


@server.command(SHOW_TREE)
async def show_tree_command(ls: O1CoderServer, *arguments: Any) -> dict[str, Any]:
    return await commands.show_tree(ls, parse_document(SHOW_TREE, arguments))


@server.command(RETRY)
async def retry_command(ls: O1CoderServer, *arguments: Any) -> dict[str, Any]:
    return await work_runner.retry(ls, parse_document(RETRY, arguments))

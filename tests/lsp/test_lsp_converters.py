"""Unit tests of the server's pure converters and of the job registry (no LSP, no model)."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from o1coder.commands.serve import parse_tcp
from o1coder.config import Settings, SettingsError
from o1coder.engine.types import Budget, Cancelled, CancelToken, ProgressEvent
from o1coder.lsp import (
    code_actions,
    completion,
    configuration,
    edits,
    hover,
    progress,
    targets,
    tests_file,
    work,
)
from o1coder.lsp.jobs import COMPLETION, Jobs
from o1coder.lsp.targets import find_target
from o1coder.lsp.text import is_valid_python
from o1coder.lsp.work_args import WorkArgs, parse_document
from o1coder.lsp.work_commands import IMPLEMENT, PLAN, REFINE, TESTS, WORK_COMMANDS
from o1coder.lsp.work_types import Snapshot
from o1coder.sandbox import types as sandbox

SOURCE = textwrap.dedent(
    '''\
    def add(a, b):
        """Return a + b."""
        pass


    def done(x):
        return x


    def planned(xs):
        # sum the list
        pass
    '''
)


def cursor(line: int, character: int = 4) -> types.Range:
    position = types.Position(line=line, character=character)
    return types.Range(start=position, end=position)


# ---------------------------------------------------------------- code actions


def titles(actions: list[types.CodeAction]) -> list[str]:
    return [a.title for a in actions]


def test_actions_on_a_stub_function() -> None:
    actions = code_actions.list_actions(SOURCE, "file:///m.py", 3, cursor(2))
    assert titles(actions) == ["Plan in pseudocode", "Implement with search", "Generate tests"]
    implement = actions[1]
    expected_args = {"uri": "file:///m.py", "position": {"line": 2, "character": 4}, "version": 3}
    assert implement.command is not None and implement.command.command == "o1coder.implement"
    assert implement.command.arguments == [expected_args]
    assert implement.data == {"command": "o1coder.implement", "arguments": expected_args}


def test_actions_on_a_plan_an_implemented_function_and_nothing() -> None:
    assert titles(code_actions.list_actions(SOURCE, "file:///m.py", 1, cursor(11))) == [
        "Refine pseudocode",
        "Implement with search",
        "Generate tests",
    ]
    assert titles(code_actions.list_actions(SOURCE, "file:///m.py", 1, cursor(6))) == ["Generate tests"]
    assert code_actions.list_actions(SOURCE, "file:///m.py", 1, cursor(4, 0)) == []


def test_actions_filtered_by_kind_and_resolved_from_data() -> None:
    only = [types.CodeActionKind.RefactorRewrite]
    assert titles(code_actions.list_actions(SOURCE, "file:///m.py", 1, cursor(2), only)) == [
        "Plan in pseudocode",
        "Implement with search",
    ]
    [bare, *_] = code_actions.list_actions(SOURCE, "file:///m.py", 1, cursor(2), with_command=False)
    assert bare.command is None
    resolved = code_actions.resolve(bare)
    assert resolved.command is not None and resolved.command.command == "o1coder.plan"


def test_actions_on_a_task_comment() -> None:
    text = "# return the largest element of a list of numbers\n"
    assert titles(code_actions.list_actions(text, "file:///t.py", 1, cursor(0, 3))) == [
        "Plan in pseudocode",
        "Implement with search",
    ]


# ---------------------------------------------------------------- command arguments


def test_work_arguments_are_checked() -> None:
    args = WorkArgs.parse(
        "o1coder.implement", [{"uri": "file:///m.py", "position": {"line": 1, "character": 2}, "version": 4}]
    )
    assert args.uri == "file:///m.py" and args.position == types.Position(line=1, character=2) and args.version == 4
    for bad in ([], [1], [{"uri": 3}], [{"uri": "u", "position": {"line": -1, "character": 0}}], [{"uri": "u"}]):
        with pytest.raises(JsonRpcInvalidParams, match="takes one argument"):
            WorkArgs.parse("o1coder.implement", bad)
    with pytest.raises(JsonRpcInvalidParams, match="version"):
        WorkArgs.parse("o1coder.plan", [{"uri": "u", "position": {"line": 0, "character": 0}, "version": "7"}])


def test_work_arguments_round_trip_as_the_clients_send_them() -> None:
    selection = types.Range(start=types.Position(line=1, character=0), end=types.Position(line=3, character=0))
    args = WorkArgs.at("file:///m.py", types.Position(line=1, character=0), 2, selection)
    sent = args.to_json()
    assert sent == {
        "uri": "file:///m.py",
        "position": {"line": 1, "character": 0},
        "version": 2,
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 3, "character": 0}},
    }
    assert WorkArgs.parse("o1coder.plan", [sent]) == args
    cursor_only = WorkArgs.at("file:///m.py", types.Position(line=1, character=0), None, cursor(1, 0))
    assert cursor_only.to_json() == {"uri": "file:///m.py", "position": {"line": 1, "character": 0}}
    with pytest.raises(JsonRpcInvalidParams, match=r"`position`: line: expected an integer, got True"):
        WorkArgs.parse("o1coder.plan", [{"uri": "u", "position": {"line": True, "character": 0}}])
    with pytest.raises(JsonRpcInvalidParams, match=r"`uri` is empty"):
        WorkArgs.parse("o1coder.plan", [{"uri": "", "position": {"line": 0, "character": 0}}])
    with pytest.raises(JsonRpcInvalidParams, match=r"`range`: end: missing"):
        WorkArgs.parse("o1coder.plan", [{"uri": "u", "position": {"line": 0, "character": 0}, "range": {"start": {"line": 0, "character": 0}}}])


def test_document_argument_of_cancel_and_retry() -> None:
    assert parse_document("o1coder.cancel", []) is None
    assert parse_document("o1coder.cancel", ["file:///a.py"]) == "file:///a.py"
    assert parse_document("o1coder.retry", [{"uri": "file:///a.py"}]) == "file:///a.py"
    for bad in ([42], [{}], [{"uri": 3}], ["a", "b"]):
        with pytest.raises(JsonRpcInvalidParams, match=r"o1coder.cancel takes no argument, a uri"):
            parse_document("o1coder.cancel", bad)


def test_registry_says_where_each_command_runs_and_is_offered() -> None:
    stub, done, planned = (find_target(SOURCE, line, 4) for line in (2, 6, 11))
    task = find_target("# return the largest element of a list\n", 0, 3)
    assert [c for c in WORK_COMMANDS if c.runs(planned)] == [PLAN, REFINE, IMPLEMENT, TESTS]
    assert [c for c in WORK_COMMANDS if c.offered(planned)] == [REFINE, IMPLEMENT, TESTS]
    assert [c for c in WORK_COMMANDS if c.runs(stub)] == [PLAN, IMPLEMENT, TESTS]
    assert [c for c in WORK_COMMANDS if c.runs(done)] == [TESTS]
    assert [c for c in WORK_COMMANDS if c.runs(task)] == [PLAN, IMPLEMENT]


def test_problem_source_takes_module_imports_and_the_function() -> None:
    text = "import math\nfrom x import y\n\n\ndef area(r):\n    pass\n"
    target = targets.find_target(text, 5, 4)
    snapshot = Snapshot(
        uri="file:///a.py",
        version=1,
        text=text,
        target=target,
        keep_pseudocode=True,
        path=None,
        root=None,
    )
    assert work.problem_source(snapshot) == "import math\nfrom x import y\n\ndef area(r):\n    pass\n"


# ---------------------------------------------------------------- configuration


def test_settings_sections_and_errors() -> None:
    base = Settings()
    assert configuration.extract_section({"o1coder": {"search": {"budgetTokens": 500}}}) == {
        "search": {"budgetTokens": 500}
    }
    assert configuration.extract_section({"search": {"strategy": "greedy"}}) == {"search": {"strategy": "greedy"}}
    assert configuration.extract_section({"python": {}}) is None
    assert configuration.extract_section(None) is None
    new = configuration.merge_settings(base, {"o1coder": {"search": {"budgetTokens": 500}, "models": {"prm": "/x.gguf"}}})
    assert new.search.budget_tokens == 500 and base.search.budget_tokens != 500
    assert configuration.changed_roles(base, new) == ["prm"]
    assert configuration.describe_change(base, new) == ["models.prm", "search.budgetTokens"]
    with pytest.raises(SettingsError) as info:
        configuration.merge_settings(base, {"o1coder": {"search": {"budgetTokens": "lots"}}})
    assert info.value.setting == "search.budgetTokens"
    with pytest.raises(SettingsError):
        configuration.extract_section({"o1coder": 3})


def test_layering_applies_the_valid_settings_and_lists_every_bad_one() -> None:
    base = Settings()
    data = {"search": {"budgetTokens": "lots", "stratgy": "x", "temperature": 0.3, "branching": 0}, "models": {"threads": 999}}
    with pytest.raises(SettingsError) as info:
        Settings.from_dict(data)
    assert [p[0] for p in info.value.problems] == ["search.budgetTokens", "search.stratgy", "models.threads", "search.branching"]
    assert info.value.setting == "search.budgetTokens" and str(info.value).count("o1coder.") == 4

    layered, problems = configuration.layer_settings(base, {"o1coder": data})
    assert len(problems) == 4  # a bad branching is not also blamed on directCodeChildren
    assert layered.search.temperature == 0.3  # the valid one applies
    assert (layered.search.budget_tokens, layered.search.branching, layered.models.threads) == (3000, 3, 2)
    message = configuration.settings_problem_message(problems)
    assert message.startswith("o1coder: 4 invalid settings: o1coder.search.budgetTokens: expected int, got 'lots';")
    assert "must be between 1 and 256, got 999" in message

    # checked together: what still fails after restoring the bad one applies nothing
    two = Settings.from_dict({"search": {"directCodeChildren": 2}})
    layered, problems = Settings.layer({"search": {"branching": 2, "temperature": 0.1}}, two)
    assert layered == two and [p[0] for p in problems] == ["search.directCodeChildren"]
    assert configuration.layer_settings(base, {"o1coder": 3}) == (base, [("(root)", "expected an object for the o1coder section, got 3")])


# ---------------------------------------------------------------- progress


def test_progress_message_and_percentage() -> None:
    event = ProgressEvent(phase="search", nodes=12, best_value=0.75, tests_passing=3, tests_total=6, tokens_generated=900)
    assert progress.progress_message(event) == "searching · 12 nodes · best 0.75 · tests 3/6 · 900 tokens"
    assert progress.progress_percentage(event, Budget(tokens=3000, nodes=40)) == 30
    assert progress.progress_percentage(event, None) is None
    assert progress.progress_percentage(ProgressEvent(phase="done"), Budget()) == 100
    assert progress.progress_message(ProgressEvent(phase="plan", message="structure step")) == "planning · structure step"
    reading = ProgressEvent(phase="tests", prompt_tokens=640, message="reading the prompt")
    assert progress.progress_message(reading) == "writing tests · 640 prompt tokens read · reading the prompt"
    assert [progress.elapsed(s) for s in (0.4, 7.9, 65, 3600)] == ["0 s", "7 s", "1 min 05 s", "60 min 00 s"]


class RecordingProgress:
    """FAKE of pygls' work_done_progress: records what would go to the client."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []
        self.tokens: dict[str, object] = {}

    async def create_async(self, token: str) -> None:
        self.tokens[token] = None

    def begin(self, token: str, value: object) -> None:
        self.sent.append(("begin", value))

    def report(self, token: str, value: object) -> None:
        self.sent.append(("report", value))

    def end(self, token: str, value: object) -> None:
        self.sent.append(("end", value))


def test_work_progress_ticks_on_its_own_when_the_engine_is_silent() -> None:
    capabilities = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True))

    class Server:
        client_capabilities = capabilities
        work_done_progress = RecordingProgress()

    ls = Server()

    async def scenario() -> None:
        work = progress.WorkProgress(ls, "o1coder: Implement with search: add()", tick_seconds=0.02)  # type: ignore[arg-type]
        assert await work.begin("starting")
        work.report(ProgressEvent(phase="load", message="loading models"))  # then the engine says nothing
        deadline = time.monotonic() + 30
        while len(ls.work_done_progress.sent) < 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        work.end("done")
        sent = len(ls.work_done_progress.sent)
        await asyncio.sleep(0.1)
        assert len(ls.work_done_progress.sent) == sent  # nothing after the end

    asyncio.run(scenario())
    kinds = [kind for kind, _ in ls.work_done_progress.sent]
    assert kinds[0] == "begin" and kinds[-1] == "end" and kinds.count("report") >= 4
    assert ls.work_done_progress.sent[0][1].title == "o1coder: Implement with search: add()"
    reports = [value.message for kind, value in ls.work_done_progress.sent if kind == "report"]
    # the engine's one line, then the same line again and again, each with the time run so far
    assert all(message.startswith("loading the model · ") and message.endswith(" s") for message in reports)


# ---------------------------------------------------------------- tests file


def test_tests_file_marks_failing_tests_and_avoids_name_clashes() -> None:
    tests = [
        sandbox.TestCase("test_1", "assert add(1, 2) == 3"),
        sandbox.TestCase("test_2", "import math\nassert add(0, 0) == 0"),
        sandbox.TestCase("test_edge", "def test_edge():\n    assert add(-1, 1) == 0"),
    ]
    report = sandbox.VerificationReport(
        compiled=True,
        outcomes=[
            sandbox.TestOutcome("test_1", sandbox.TestStatus.FAILED, "assert None == 3"),
            sandbox.TestOutcome("test_2", sandbox.TestStatus.PASSED),
            sandbox.TestOutcome("test_edge", sandbox.TestStatus.PASSED),
        ],
    )
    existing = "def test_add_1():\n    pass\n"
    addition = tests_file.build_addition(tests, report, "add", "from m import add", existing)
    assert addition.names == ["test_add_2", "test_add_3", "test_add_4"]
    assert addition.failing == {"test_add_2": "failed: assert None == 3"}
    text = addition.text
    assert text.startswith("import pytest\nfrom m import add\nimport math\n")
    assert "# o1coder: failed: assert None == 3\n@pytest.mark.xfail(" in text
    assert "def test_add_4():\n    assert add(-1, 1) == 0" in text
    edit, _ = edits.append_edit(existing, text)
    whole = edits.apply_text_edits(existing, [edit])
    assert is_valid_python(whole)
    assert tests_file.def_lines(whole, addition.names)["test_add_2"] == whole.split("\n").index("def test_add_2():")


# ---------------------------------------------------------------- completion and hover


def test_completion_target_split_and_items() -> None:
    assert completion.completion_target(SOURCE, types.Position(line=2, character=4)).name == "add"
    assert completion.completion_target(SOURCE, types.Position(line=0, character=4)) is None  # on the header
    assert completion.completion_target(SOURCE, types.Position(line=6, character=4)) is None  # implemented
    assert completion.step_split(360) == (60, 240)
    assert completion.step_split(50) == (32, 64)
    small = completion.completion_settings(Settings.from_dict({"editor": {"completionBudgetTokens": 360}}))
    assert small.search.strategy == "pseudocode" and small.search.max_code_tokens == 240

    target = completion.completion_target(SOURCE, types.Position(line=2, character=4))
    body = completion.body_lines(target, "def add(a, b):\n    return a + b\n", "add them", keep_pseudocode=True)
    assert body == ["    # add them", "    return a + b"]
    inline = completion.inline_items(SOURCE, types.Position(line=2, character=8), body)
    [item] = inline.items
    assert item.range.start.line == item.range.end.line == 2
    new = edits.apply_text_edits(SOURCE, [types.TextEdit(range=item.range, new_text=item.insert_text)])
    assert '"""Return a + b."""\n    # add them\n    return a + b\n' in new and is_valid_python(new)

    blank = SOURCE.replace('    """Return a + b."""\n    pass\n', '    """Return a + b."""\n    pass\n    \n')
    listed = completion.completion_items(blank, target, types.Position(line=3, character=4), body, "o1coder")
    [entry] = listed.items
    applied = edits.apply_text_edits(blank, [entry.text_edit, *entry.additional_text_edits])
    assert '"""Return a + b."""\n    # add them\n    return a + b\n' in applied and "pass" not in applied.split("def done")[0]


def test_hover_on_a_stub_header() -> None:
    shown = hover.hover(SOURCE, types.Position(line=0, character=5), "searching · 3 nodes")
    assert shown is not None and "searching · 3 nodes" in shown.contents.value and "Implement with search" in shown.contents.value
    assert hover.hover(SOURCE, types.Position(line=5, character=5), None) is None  # implemented, nothing running
    assert hover.hover(SOURCE, types.Position(line=2, character=5), None) is None  # not on the header


def test_parse_tcp() -> None:
    assert parse_tcp("127.0.0.1:2087") == ("127.0.0.1", 2087)
    assert parse_tcp("[::1]:9000") == ("::1", 9000)
    assert parse_tcp("2087") == ("127.0.0.1", 2087)  # no host: loopback only
    assert parse_tcp(":2087") == ("127.0.0.1", 2087)
    for bad in ("", "host:", "host:0", "host:x", "70000"):
        with pytest.raises(ValueError, match="--tcp"):
            parse_tcp(bad)


# ---------------------------------------------------------------- the job registry


class PollingWork:
    """Work that polls its CancelToken like the engine does between tokens (every ~5 ms), for up
    to `seconds`; `stopped` is set when a cancel stopped it."""

    def __init__(self, started: threading.Event, seconds: float = 10.0):
        self.started = started
        self.seconds = seconds
        self.stopped = threading.Event()

    def __call__(self, token: CancelToken) -> str:
        self.started.set()
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            try:
                token.raise_if_cancelled()
            except Cancelled:
                self.stopped.set()
                raise
            time.sleep(0.005)
        return "finished"


def test_jobs_cancel_previous_on_the_same_document_and_queue_across_documents() -> None:
    async def scenario() -> None:
        jobs = Jobs()
        started = threading.Event()
        busy = PollingWork(started)
        first = jobs.submit("file:///a.py", "Implement", busy)
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        other = jobs.submit("file:///b.py", "Implement", lambda token: "b done")
        second = jobs.submit("file:///a.py", "Implement", lambda token: "a again")
        with pytest.raises(Cancelled, match="superseded"):
            await first.result()
        assert await second.result() == "a again"
        assert await other.result() == "b done"
        await jobs.wait_stopped([first])
        assert first.stop_ms is not None and busy.stopped.is_set()  # the worker returned: cancelled
        assert not jobs.busy()
        jobs.shutdown()

    asyncio.run(scenario())


def test_jobs_cancel_by_request_and_progress_token_and_completion_lane(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="o1coder.lsp.jobs")

    async def scenario() -> None:
        jobs = Jobs()
        started = threading.Event()
        work = jobs.submit("file:///a.py", "Implement", PollingWork(started), request_id=7)
        work.progress_token = "tok"
        completion_job = jobs.submit("file:///a.py", "completion", lambda token: "body", lane=COMPLETION)
        assert jobs.active("file:///a.py") is work  # a completion never cancels a search
        assert jobs.busy()
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        assert jobs.cancel_progress("other") == []
        assert jobs.cancel_request(7) == [work]
        assert jobs.request_cancelled(7) and not jobs.request_cancelled(8)
        assert jobs.cancel_request(7) == []  # cancelled already: nothing more to stop
        logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("$/cancelRequest 7: ")]
        assert logged[0].startswith(f"$/cancelRequest 7: stopped job {work.id} Implement"), logged
        assert "no work of it still running" in logged[1], logged
        with pytest.raises(Cancelled):
            await work.result()
        assert await completion_job.result() == "body"
        jobs.shutdown()

    asyncio.run(scenario())

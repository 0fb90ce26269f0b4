"""The work path end to end without a model: the real server over stdio, the FAKE engine of
fake_engine.py in place of the real one (the hidden `--engine-factory` option).

What is checked is the server's side: arguments, snapshots, versioned edits, stale refusals,
cancellation, the tests file, completions. The real engine's side is in test_lsp_model.py.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import attrs
import pytest
from fake_engine import HOLDING, write_script
from lsp_harness import STUB_MODULE, EditorClient, fake_engine_server, initialize_params
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled

pytestmark = pytest.mark.asyncio

STUB_LINE = STUB_MODULE.split("\n").index("    pass")
CODE = (
    "def running_max(numbers: list[int]) -> list[int]:\n"
    "    out = []\n"
    "    for n in numbers:\n"
    "        out.append(max(out[-1], n) if out else n)\n"
    "    return out\n"
)
PLAN = "keep the largest number seen so far\nappend it for each number"
TESTS = [
    ["test_a", "assert running_max([1, 3, 2]) == [1, 3, 3]"],
    ["test_b", "assert running_max([]) == [1]"],
]


def position(line: int, character: int = 4) -> types.Position:
    return types.Position(line=line, character=character)


def start_command(client: EditorClient, command: str, arguments: dict[str, Any], msg_id: str) -> asyncio.Future:
    return asyncio.ensure_future(
        client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command=command, arguments=[arguments]),
            msg_id=msg_id,
        )
    )


async def holding(client: EditorClient) -> None:
    """Wait until the fake engine reports that it holds (the job is running on the worker)."""
    await client.wait_for(
        lambda: any(
            isinstance(r, types.WorkDoneProgressReport) and HOLDING in (r.message or "")
            for reports in client.progress_reports.values()
            for r in reports
        ),
        timeout=60,
    )


async def handled(client: EditorClient, uri: str) -> None:
    """Wait until the server has handled every message sent so far (it answers requests in order)."""
    await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(0))
    )


def function_body(text: str, name: str) -> str:
    [function] = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name]
    return ast.get_source_segment(text, function) or ""


async def test_implement_applies_a_versioned_edit_with_the_fake_code(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, code=CODE, pseudocode=PLAN)
    (tmp_path / "test_running.py").write_text(
        "from running import running_max\n\n\n"
        "def test_one():\n    assert running_max([1]) == [1]\n\n\n"
        "def test_two():\n    assert running_max([2, 1]) == [2, 2]\n"
    )
    async with fake_engine_server(tmp_path, script) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)
        result = await client.execute("o1coder.implement", client.work_args(uri, STUB_LINE, version=1))
        assert result["applied"] is True, result
        assert result["kind"] == "implement" and result["version"] == 1 and result["strategy"] == "fake"
        assert result["code"] == CODE and result["yourTests"] == 2
        [edit] = client.applied
        [change] = edit.edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.uri == uri and change.text_document.version == 1
        assert client.doc_version(uri) == 2
        body = function_body(client.text(uri), "running_max")
        assert "out.append(max(out[-1], n) if out else n)" in body and "pass" not in body
        assert '"""Return the running maximum of `numbers`.' in body  # the docstring stays
        assert "# keep the largest number seen so far" in body  # editor.keepPseudocodeComments
        ends = [r for reports in client.progress_reports.values() for r in reports if isinstance(r, types.WorkDoneProgressEnd)]
        assert [r.message for r in ends] == [result["reason"]] and "implemented running_max()" in result["reason"]


async def test_implement_writes_the_search_tree_page_and_show_tree_opens_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the server inherits it
    script = tmp_path / "fake-engine.json"
    write_script(script, code=CODE, pseudocode=PLAN)
    params = initialize_params(tmp_path)
    window = attrs.evolve(params.capabilities.window, show_document=types.ShowDocumentClientCapabilities(support=True))
    params = attrs.evolve(params, capabilities=attrs.evolve(params.capabilities, window=window))
    async with fake_engine_server(tmp_path, script, params=params) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)
        before = await client.execute("o1coder.showTree", uri)
        assert before["shown"] is False and "no search has run on this document" in before["reason"]
        result = await client.execute("o1coder.implement", client.work_args(uri, STUB_LINE, version=1))
        page = Path(result["treePage"])
        assert page.parent == tmp_path / "cache" / "o1coder" / "trees" and page.is_file()
        html = page.read_text()
        assert "o1coder: running_max" in html and "out.append(max(out[-1], n) if out else n)" in html
        shown = await client.execute("o1coder.showTree", {"uri": uri})
        assert shown == {"shown": True, "page": str(page)}
        [request] = client.shown_documents
        assert request.external is True and request.uri == page.as_uri()


async def test_plan_then_refine_write_the_fake_plan(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, plan=PLAN)
    async with fake_engine_server(tmp_path, script) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)
        planned = await client.execute("o1coder.plan", client.work_args(uri, STUB_LINE, version=1))
        assert planned["applied"] is True and planned["pseudocode"] == PLAN, planned
        body = function_body(client.text(uri), "running_max")
        assert "    # keep the largest number seen so far\n    # append it for each number\n    pass" in body

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=position(0, 5), end=position(0, 5)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert [a.title for a in actions] == ["Refine pseudocode", "Implement with search", "Generate tests"]
        write_script(script, plan="keep the maximum so far")
        refined = await client.execute("o1coder.refine", client.work_args(uri, 0, 5, version=client.doc_version(uri)))
        assert refined["applied"] is True, refined
        body = function_body(client.text(uri), "running_max")
        assert "# keep the maximum so far" in body and "# append it" not in body


async def test_generate_tests_creates_the_tests_file_and_marks_the_failing_test(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, tests=TESTS, failing=["test_b"])
    (tmp_path / "tests").mkdir()
    async with fake_engine_server(tmp_path, script) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)
        result = await client.execute("o1coder.generateTests", client.work_args(uri, 0, 5))
        assert result["applied"] is True, result
        tests_uri = (tmp_path / "tests" / "test_running.py").as_uri()
        assert result["testsFile"] == tests_uri and result["tests"] == ["test_running_max_1", "test_running_max_2"]
        assert result["failing"] == ["test_running_max_2"] and result["testsPassing"] == 1
        [edit] = client.applied
        assert [type(c).__name__ for c in edit.edit.document_changes] == ["CreateFile", "TextDocumentEdit"]
        content = client.text(tests_uri)
        ast.parse(content)
        assert "from running import running_max" in content
        assert content.count("@pytest.mark.xfail(") == 1
        [diagnostic] = await client.wait_for(lambda: client.diagnostics.get(tests_uri))
        assert diagnostic.source == "o1coder" and "fake: scripted to fail" in diagnostic.message
        assert client.text(uri) == STUB_MODULE  # the module itself is not touched


async def test_a_document_changed_during_the_work_is_not_overwritten(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    release = tmp_path / "release"
    write_script(script, code=CODE, hold=str(release))
    async with fake_engine_server(tmp_path, script) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)
        running = start_command(client, "o1coder.implement", client.work_args(uri, STUB_LINE, version=1), "stale")
        await holding(client)
        typed = "import itertools\n\n\n" + STUB_MODULE
        assert client.change(uri, typed) == 2
        await handled(client, uri)
        release.touch()
        result = await running
        assert result["applied"] is False and result["stale"] is True, result
        assert "version 1 → 2" in result["reason"]
        assert client.edit_requests == []  # never sent: the server checked the version first
        assert client.text(uri) == typed
        [request] = await client.wait_for(lambda: client.message_requests)
        assert [a.title for a in request.actions] == ["Retry"]

        retried = await client.execute("o1coder.retry", {"uri": uri})
        assert retried["applied"] is True and retried["version"] == 2, retried
        assert client.applied[0].edit.document_changes[0].text_document.version == 2
        text = client.text(uri)
        assert text.startswith("import itertools\n") and "out.append(" in function_body(text, "running_max")


async def test_cancel_leaves_the_buffer_unchanged(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, code=CODE, hold=str(tmp_path / "never"))
    async with fake_engine_server(tmp_path, script) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)

        running = start_command(client, "o1coder.implement", client.work_args(uri, STUB_LINE), "by-command")
        await holding(client)
        answer = await client.execute("o1coder.cancel", {"uri": uri})
        [stopped] = answer["cancelled"]
        assert stopped["uri"] == uri and stopped["title"] == "Implement with search" and stopped["wasRunning"]
        result = await running
        assert result["applied"] is False and result["cancelled"] is True, result

        client.progress_reports.clear()
        running = start_command(client, "o1coder.implement", client.work_args(uri, STUB_LINE), "by-request")
        await holding(client)
        client.cancel_request(types.CancelParams(id="by-request"))
        with pytest.raises(JsonRpcRequestCancelled):
            await running
        assert await client.execute("o1coder.cancel") == {"cancelled": []}  # nothing left running

        assert client.edit_requests == []
        assert client.text(uri) == STUB_MODULE and client.doc_version(uri) == 1


async def test_progress_names_the_function_and_keeps_ticking_while_the_engine_is_silent(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, code=CODE, hold=str(tmp_path / "never"))  # one report, then silence
    async with fake_engine_server(tmp_path, script) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)
        running = start_command(client, "o1coder.implement", client.work_args(uri, STUB_LINE), "ticking")

        def holding_reports() -> list[str]:
            return [
                r.message or ""
                for reports in client.progress_reports.values()
                for r in reports
                if isinstance(r, types.WorkDoneProgressReport) and HOLDING in (r.message or "")
            ]

        # the engine reported once; the server repeats its line (TICK_SECONDS), with the time run
        await client.wait_for(lambda: len(holding_reports()) >= 3, timeout=60)
        assert all(message.startswith(f"searching · {HOLDING} · ") for message in holding_reports())
        assert client.progress_titles() == ["o1coder: Implement with search: running_max()"]
        await client.execute("o1coder.cancel", {"uri": uri})
        assert (await running)["cancelled"] is True


async def test_bad_arguments_get_an_error_response_and_start_no_work(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, code=CODE)
    async with fake_engine_server(tmp_path, script) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)
        with pytest.raises(JsonRpcInvalidParams, match=r"takes one argument.*; `position`: character: expected an integer"):
            await client.execute("o1coder.implement", {"uri": uri, "position": {"line": STUB_LINE, "character": "4"}})
        with pytest.raises(JsonRpcInvalidParams, match=r"`version`: expected an integer, got '1'"):
            await client.execute("o1coder.generateTests", client.work_args(uri, STUB_LINE) | {"version": "1"})
        with pytest.raises(JsonRpcInvalidParams, match=r"got 2 arguments"):
            await client.execute("o1coder.plan", client.work_args(uri, STUB_LINE), client.work_args(uri, STUB_LINE))
        with pytest.raises(JsonRpcInvalidParams, match=r"retry takes no argument, a uri, or .*`uri`: missing"):
            await client.execute("o1coder.retry", {"url": uri})
        assert client.progress_reports == {} and client.edit_requests == []
        assert client.text(uri) == STUB_MODULE


async def test_completion_offers_the_fake_body(tmp_path: Path) -> None:
    script = tmp_path / "fake-engine.json"
    write_script(script, code=CODE, pseudocode=PLAN)
    async with fake_engine_server(tmp_path, script) as client:
        uri = client.open(tmp_path / "running.py", STUB_MODULE)
        listed = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=position(STUB_LINE, 8),
                context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
            )
        )
        assert listed is not None
        [item] = listed.items
        assert item.label == "running_max: pseudocode-first body"
        assert item.text_edit.range.start.line == STUB_LINE
        assert item.text_edit.new_text.startswith("    # keep the largest number seen so far\n")
        assert "        out.append(max(out[-1], n) if out else n)" in item.text_edit.new_text

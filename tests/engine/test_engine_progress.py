"""Progress that never freezes: while one long model call runs, the Meter repeats the latest
event with the tokens generated so far (or the prompt tokens read), on the backend's polls.

No wall clock is asserted: the Meter's clock is a counter the test advances, or PULSE_SECONDS is
0 (a pulse at every poll); what is checked is the events' content and order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from fakes import A1, A2, A3, DIRECT, TCG, FakeVerifier, ScriptedBackend

from o1coder.cancel import Cancelled, CancelToken, Heartbeat
from o1coder.config import SearchSettings
from o1coder.engine import budget
from o1coder.engine.budget import READING, Meter
from o1coder.engine.problem import Problem
from o1coder.engine.strategies import solve
from o1coder.engine.types import Budget, ProgressEvent
from o1coder.models.backend import Continuation, SampleParams

PROBLEM = Problem.from_source('def add(a, b):\n    """Add.\n    >>> add(1, 2)\n    3\n    """\n')
PREFILL_SLICE = 64  # prompt tokens read between two polls


class SteppingBackend(ScriptedBackend):
    """FAKE ScriptedBackend that spends the way the llama.cpp backend does: it reads the new
    prompt tokens in slices and then samples one token per live stream per step, polling its
    token before each slice and step and counting as it goes (the scripted replies are decided
    first; only the counters and the polls are replayed step by step)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.polls = 0

    def generate(
        self, prefixes: Sequence[Sequence[int]], params: Sequence[SampleParams], cancel: CancelToken | None = None
    ) -> list[Continuation]:
        before = self.counters.snapshot()
        outs = super().generate(prefixes, params)
        read = self.counters.prompt_tokens_evaluated - before.prompt_tokens_evaluated
        self.counters.prompt_tokens_evaluated = before.prompt_tokens_evaluated
        self.counters.tokens_generated = before.tokens_generated

        def poll() -> None:
            self.polls += 1
            if cancel is not None:
                cancel.raise_if_cancelled()

        for start in range(0, read, PREFILL_SLICE):
            poll()
            self.counters.prompt_tokens_evaluated += min(PREFILL_SLICE, read - start)
        for step in range(max(len(o.tokens) for o in outs)):
            poll()
            self.counters.tokens_generated += sum(1 for o in outs if len(o.tokens) > step)
        return outs


def reply(marker: str) -> str:
    return f"Here it is:\n```python\ndef add(a, b):\n    return a + b  # {marker}\n```\nIt adds.<|im_end|>"


def stepping_backend() -> SteppingBackend:
    return SteppingBackend(
        {
            TCG: ["2, 2) == 4\n```", "0, 0) == 0\n```"],
            DIRECT: [reply("WRONG")],
            A1: [" plan alpha", " plan beta", " plan gamma"],
            A2: [" refined"],
            A3: ["def add(a, b):\n    return a + b  # RIGHT\n"],
        }
    )


def run_solve(backend: ScriptedBackend, settings: SearchSettings, events: list[ProgressEvent]):
    return solve(
        PROBLEM,
        policy=backend,
        prm=backend,
        tcg=backend,
        verifier=FakeVerifier({"RIGHT": (True, 1.0), "WRONG": (True, 0.0)}),
        settings=settings,
        budget=Budget(tokens=5000, nodes=40, seconds=600),
        progress=events.append,
    )


def test_the_opening_pulses_with_prompt_tokens_then_generated_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "PULSE_SECONDS", 0.0)  # a pulse at every poll
    backend = stepping_backend()
    events: list[ProgressEvent] = []
    result = run_solve(backend, SearchSettings(seed=7), events)
    assert result.code.endswith("# RIGHT")

    first, *rest = events
    assert (first.phase, first.message) == ("tests", "writing tests")
    end_of_tests = next(i for i, e in enumerate(rest) if e.message == "3 tests")
    opening = rest[:end_of_tests]  # every event of the one batched call: tests + the direct answer
    assert len(opening) > 20 and all(e.phase == "tests" for e in opening)
    reading = [e for e in opening if e.message == READING]
    writing = [e for e in opening if e.message == "writing tests" and e.tokens_generated]
    assert reading and writing and opening.index(reading[-1]) < opening.index(writing[0])  # read, then write
    assert all(e.prompt_tokens > 0 and e.tokens_generated == 0 for e in reading)
    assert [e.prompt_tokens for e in reading] == sorted(e.prompt_tokens for e in reading)
    counts = [e.tokens_generated for e in writing]
    assert counts == sorted(counts) and counts[0] > 0 and len(set(counts)) == len(counts)  # one more each step
    # the last pulse came before the call's last step: one token per stream short, at most
    assert 0 < rest[end_of_tests].tokens_generated - counts[-1] <= 3
    assert "prompt tokens read" in " ".join(reading[0].counts()) and "tokens" in writing[-1].counts()[-1]

    # the search pulses too, with the figures of its latest event and the tokens so far
    search = [e for e in events if e.phase == "search"]
    assert len(search) > 10 and events[-1].phase == "done"
    assert [e.tokens_generated for e in search] == sorted(e.tokens_generated for e in search)
    assert events[-1].tokens_generated == result.stats.tokens_generated == backend.counters.tokens_generated


def test_every_strategy_pulses_in_every_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "PULSE_SECONDS", 0.0)
    for strategy in ("greedy", "best-of-n", "pseudocode", "mcts"):
        backend = stepping_backend()
        events: list[ProgressEvent] = []
        run_solve(backend, SearchSettings(seed=7, strategy=strategy, direct_answer_first=False), events)
        phases = [e.phase for e in events]
        assert phases[0] == "tests" and phases[-1] == "done", (strategy, phases)
        # after the tests, the strategy's own phase, with pulses (repeats) while it decodes
        after = phases[phases.index("tests", [e.message for e in events].index("3 tests")) + 1 : -1]
        expected = "plan" if strategy == "pseudocode" else "search"
        assert after and set(after) == {expected}, (strategy, phases)
        # greedy's answer was written with the tests: then it is only verified
        assert len(after) == 1 if strategy == "greedy" else len(after) > 3, (strategy, phases)


def test_pulses_come_at_most_every_pulse_seconds_of_the_meters_clock() -> None:
    now = [0.0]
    backend = SteppingBackend({DIRECT: ["x" * 40]})

    def clock() -> float:
        now[0] += 0.25  # a quarter second per look at the clock
        return now[0]

    events: list[ProgressEvent] = []
    meter = Meter([backend], clock=clock, progress=events.append, pulse_seconds=1.0)
    meter.notify(ProgressEvent(phase="search", message="sampling answers", tests_total=6))
    meter.generate(backend, [backend.tokenize(DIRECT)], [SampleParams(max_tokens=40)])
    pulses = events[1:]
    assert backend.polls == 41  # one prompt slice, then one poll per token
    # one clock reading per poll: a pulse at every 4th (1 s), the first 1 s after notify
    assert [p.tokens_generated for p in pulses] == [2, 6, 10, 14, 18, 22, 26, 30, 34, 38]
    assert all(p.tests_total == 6 and p.phase == "search" for p in pulses)  # the latest event, repeated
    assert all(p.message == "sampling answers" and p.pulse for p in pulses) and not events[0].pulse


def test_without_a_progress_callback_the_backend_gets_the_callers_token() -> None:
    token = CancelToken()
    seen: list[CancelToken | None] = []

    class Recording(ScriptedBackend):
        def generate(self, prefixes, params, cancel=None):
            seen.append(cancel)
            return super().generate(prefixes, params, cancel)

    backend = Recording({DIRECT: ["x"]})
    prompt = backend.tokenize(DIRECT)
    Meter([backend], cancel=token).generate(backend, [prompt], [SampleParams()])
    Meter([backend]).generate(backend, [prompt], [SampleParams()])
    assert seen == [token, None]


def test_a_heartbeat_cancels_with_its_inner_token_and_polls_it() -> None:
    beats: list[int] = []
    inner = CancelToken()
    heart = Heartbeat(inner, lambda: beats.append(1))
    heart.raise_if_cancelled()
    assert beats == [1] and not heart.cancelled
    inner.cancel()
    assert heart.cancelled
    with pytest.raises(Cancelled):
        heart.raise_if_cancelled()
    assert beats == [1]  # no beat once cancelled
    other = CancelToken()
    Heartbeat(other, lambda: None).cancel()
    assert other.cancelled
    alone = Heartbeat(None, lambda: beats.append(2))
    alone.raise_if_cancelled()
    alone.cancel()
    with pytest.raises(Cancelled):
        alone.raise_if_cancelled()
    assert beats == [1, 2]


def test_plan_and_generate_tests_pulse_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from o1coder.config import Settings
    from o1coder.engine.engine import Engine

    monkeypatch.setattr(budget, "PULSE_SECONDS", 0.0)
    backend = stepping_backend()

    class Pool:
        def get(self, role: str) -> ScriptedBackend:
            return backend

    engine = Engine(Settings(), pool=Pool())  # type: ignore[arg-type]
    events: list[ProgressEvent] = []
    engine.plan(PROBLEM, progress=events.append)
    assert events[0].message == "structure step" and events[-1].message.startswith("structure step in ")
    assert len(events) > 5 and all(e.phase == "plan" for e in events)
    events.clear()
    engine.generate_tests(PROBLEM, progress=events.append)
    assert events[0].message == "writing tests" and len(events) > 5 and all(e.phase == "tests" for e in events)
    assert max(e.tokens_generated for e in events) > 0


def test_the_cli_status_line_logs_no_pulses_when_not_a_terminal() -> None:
    import io

    from o1coder.commands.common import StatusLine

    log = io.StringIO()  # not a terminal: a line per event
    line = StatusLine(stream=log)
    line(ProgressEvent(phase="tests", message="writing tests"))
    line(ProgressEvent(phase="tests", tokens_generated=40, message="writing tests", pulse=True))
    line(ProgressEvent(phase="tests", tests_total=6, message="6 tests"))
    assert log.getvalue().splitlines() == ["tests | writing tests", "tests | tests 0/6 | 6 tests"]

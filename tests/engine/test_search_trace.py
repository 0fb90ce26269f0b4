"""benchmarks/search_trace.py: recording a search's stop checks, and replaying them under the current rules.

The replay's reports come from the real sandbox; the recording runs a real MCTS over the
scripted FAKE backend and verifier of test_engine_mcts (a model-free search)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from fakes import A3
from test_engine_mcts import DEFAULT_REPLIES, code, make

from o1coder.engine.mcts import MCTS
from o1coder.sandbox import TestCase, run_tests

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("search_trace", ROOT / "benchmarks" / "search_trace.py")
assert _spec is not None and _spec.loader is not None
search_trace = importlib.util.module_from_spec(_spec)
sys.modules["search_trace"] = search_trace  # its dataclasses look their module up by name
_spec.loader.exec_module(search_trace)

TESTS = [
    TestCase("t1", "assert count('ab') == 2"),
    TestCase("t2", "assert count(1) == 1"),  # malformed: an int for the string; every count raises
]
# Two different programs with one behaviour: both pass t1 and raise TypeError on t2.
PROGRAMS = ["def count(s):\n    return len(s)\n", "def count(s):\n    return sum(1 for _ in s)\n"]


def synthetic_trace(checks: list[dict], programs: list[str] = PROGRAMS) -> dict:
    """A trace as `record` writes it, with real sandbox reports for `programs`."""
    candidates = [
        {
            "code": program,
            "direct": True,
            "greedy": i == 0,
            "prm_value": 0.5,
            "report": run_tests(program, TESTS).to_dict(),
            "hidden_passed": True,
        }
        for i, program in enumerate(programs)
    ]
    return {
        "task_id": "Synthetic/0",
        "prompt_version": "test",
        "value_threshold": 0.9,
        "compile_weight": 0.1,
        "tests": [{"name": t.name, "source": t.source} for t in TESTS],
        "stated": [],
        "candidates": candidates,
        "checks": checks,
        "result": {"passed": True, "ended_by": "budget", "seconds": 80.0, "tokens": 1500},
    }


def check(seconds: float, candidates: int, suspect: list[str] | None = None) -> dict:
    return {"seconds": seconds, "tokens": int(seconds * 10), "candidates": candidates, "suspect": suspect or [], "stopped_by": ""}


def test_the_raised_rule_stops_the_recorded_search_at_the_agreeing_pair() -> None:
    # recorded by a rule that trusted t2: one answer at 10 s, the pair at 20 s, on to the budget
    trace = synthetic_trace([check(10.0, 1), check(20.0, 2), check(60.0, 2)])
    replayed = search_trace.replay(trace)
    # one program passes t1 and raises on t2 (0.1 + 0.9 * 1/2): no stop; the independent pair
    # raising on t2, which no candidate passes, makes t2 suspect: 0.1 + 0.9 * 1/1 >= 0.9
    assert replayed["stopped_by"] == "consensus"
    assert (replayed["at_check"], replayed["seconds"], replayed["tokens"]) == (1, 20.0, 200)
    assert replayed["answer"] == 0 and replayed["passed"] is True and replayed["exact"] is True


def test_no_stop_inside_the_trace_is_said_so() -> None:
    trace = synthetic_trace([check(10.0, 1), check(30.0, 1)])
    replayed = search_trace.replay(trace)
    assert replayed["stopped_by"] == "" and replayed["recorded_ended_by"] == "budget"
    assert replayed["at_check"] == 1 and replayed["consensus"] is False


def test_a_stop_after_the_suspects_differed_is_not_exact() -> None:
    # the recorded rule held t1 suspect at the first check, this one does not: the tree after it
    # is not the one the current rule would have grown
    trace = synthetic_trace([check(10.0, 1, ["t1"]), check(20.0, 2)])
    replayed = search_trace.replay(trace)
    assert replayed["stopped_by"] == "consensus" and replayed["exact"] is False


def test_patience_stops_a_search_whose_answer_stopped_improving() -> None:
    # the second program returns 0: it fails t1 and the first program stays the answer (0.55)
    programs = [PROGRAMS[0], "def count(s):\n    return 0\n"]
    trace = synthetic_trace([check(10.0, 1), check(20.0, 2), check(60.0, 2)], programs)
    assert search_trace.replay(trace)["stopped_by"] == ""  # the engine's rules search on
    stalled = search_trace.replay(trace, patience=1)
    assert stalled["stopped_by"] == "stalled" and (stalled["at_check"], stalled["answer"]) == (1, 0)
    assert search_trace.replay(trace, patience=2)["stopped_by"] == ""  # one candidate since it rose


def test_replay_dir_counts_earlier_stops(tmp_path: Path) -> None:
    earlier = synthetic_trace([check(10.0, 1), check(20.0, 2), check(60.0, 2)])
    never = {**synthetic_trace([check(10.0, 1)]), "task_id": "Synthetic/1"}
    (tmp_path / "trace-x.jsonl").write_text(json.dumps(earlier) + "\n" + json.dumps(never) + "\n{cut")
    summary = search_trace.replay_dir(tmp_path)
    assert summary["traces"] == 2 and summary["stops_earlier"] == 1 and summary["stops_earlier_exact"] == 1
    assert summary["verdict_changed"] == []
    assert summary["replayed_stopped_by"] == {"consensus": 1, "recorded end": 1}
    assert summary["median_seconds_recorded"] == 80.0 and summary["median_seconds_replayed"] == 50.0  # (20 + 80) / 2


def test_recording_sees_every_stop_check_and_leaves_the_search_unchanged() -> None:
    original = MCTS.stop_reason
    mcts, _, _ = make({**DEFAULT_REPLIES, A3: [code("HALF"), code("RIGHT")]})
    with search_trace.recording() as checks:
        outcome = mcts.run()
    assert MCTS.stop_reason is original
    assert [s for s, _ in checks] == [mcts] * len(checks) and len(checks) >= 2
    recorded = [c for _, c in checks]
    assert [c.stopped_by for c in recorded[:-1]] == [""] * (len(recorded) - 1)
    assert recorded[-1].stopped_by == outcome.stopped_by == "threshold"
    counts = [c.candidates for c in recorded]
    assert counts == sorted(counts) and counts[-1] == len(outcome.candidates)
    assert recorded[-1].tokens == mcts.meter.tokens_generated


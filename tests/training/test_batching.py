"""Concurrent searches over one model: lanes' calls merged into one batch, each lane's rows and
counters its own. A FAKE backend (continuations computed from the prefix) shows the routing;
the tiny real model shows the merge through transformers."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence

import pytest

from o1coder.cancel import Cancelled, CancelToken
from o1coder.models.backend import Continuation, Counters, SampleParams, TokenTrie
from o1coder_train.batching import Batcher, Lane

EVERYONE = 60.0  # wait long enough that a batch goes only when every open lane is waiting


class EchoBackend:
    """FAKE backend: a continuation is the prefix's last token repeated max_tokens times; a
    judgement is the prefix length / 100. It records the size of every call it gets."""

    name = "echo-fake"

    def __init__(self, fail: bool = False):
        self.counters = Counters()
        self.tree = TokenTrie()
        self.generate_sizes: list[int] = []
        self.judge_sizes: list[int] = []
        self.fail = fail

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return "".join(map(chr, tokens))

    def render_chat(self, messages, add_generation_prompt=True) -> str:  # noqa: ANN001 - protocol
        return "".join(m["content"] for m in messages)

    def n_ctx(self) -> int:
        return 4096

    def forget(self) -> None:
        pass

    def generate(self, prefixes, params, cancel=None) -> list[Continuation]:  # noqa: ANN001
        if self.fail:
            raise RuntimeError("out of memory (fake)")
        self.generate_sizes.append(len(prefixes))
        return [
            Continuation([p[-1]] * sp.max_tokens, chr(p[-1]) * sp.max_tokens, "length")
            for p, sp in zip(prefixes, params, strict=True)
        ]

    def judge(self, prefixes, yes, no, cancel=None) -> list[float]:  # noqa: ANN001
        self.judge_sizes.append(len(prefixes))
        return [len(p) / 100 for p in prefixes]


def _in_threads(lanes: list[Lane], work: Callable[[int, Lane], object]) -> list[object]:
    results: list[object] = [None] * len(lanes)

    def run(i: int) -> None:
        try:
            results[i] = work(i, lanes[i])
        except BaseException as exc:  # handed back to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(lanes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _open_lanes(batcher: Batcher, n: int, stack) -> list[Lane]:  # noqa: ANN001
    return [stack.enter_context(batcher.lane()) for _ in range(n)]


def test_calls_of_waiting_lanes_go_as_one_batch_and_come_back_to_their_lane() -> None:
    backend = EchoBackend()
    batcher = Batcher(backend, wait_seconds=EVERYONE)
    with contextlib.ExitStack() as stack:
        lanes = _open_lanes(batcher, 3, stack)

        def work(i: int, lane: Lane) -> list[Continuation]:
            prefixes = [[100 + i, 65 + i]] * (i + 1)  # lane i asks i + 1 rows
            return lane.generate(prefixes, [SampleParams(max_tokens=2 + i)] * (i + 1))

        out = _in_threads(lanes, work)
    assert backend.generate_sizes == [6]  # 1 + 2 + 3 rows in one call
    for i, (lane, got) in enumerate(zip(lanes, out, strict=True)):
        assert [c.text for c in got] == [chr(65 + i) * (2 + i)] * (i + 1)
        assert lane.counters.tokens_generated == (i + 1) * (2 + i)  # its own rows only
        assert lane.counters.prompt_tokens_evaluated == 2 * (i + 1) and lane.counters.calls == 1
    assert batcher.stats.calls == 1 and batcher.stats.merged == 3 and batcher.stats.mean_rows == 6


def test_generate_and_judge_calls_are_batched_by_kind() -> None:
    backend = EchoBackend()
    batcher = Batcher(backend, wait_seconds=EVERYONE)
    with contextlib.ExitStack() as stack:
        lanes = _open_lanes(batcher, 4, stack)

        def work(i: int, lane: Lane) -> object:
            if i % 2:
                return lane.judge([[1] * (10 * i)], ["yes"], ["no"])
            return lane.generate([[70 + i]], [SampleParams(max_tokens=1)])

        out = _in_threads(lanes, work)
    assert sorted(backend.generate_sizes) == [2] and sorted(backend.judge_sizes) == [2]
    assert out[1] == [0.1] and out[3] == [0.3]
    assert [c.text for c in out[0]] == ["F"] and [c.text for c in out[2]] == ["H"]
    assert lanes[1].counters.judgements == 1 and lanes[0].counters.judgements == 0


def test_a_closed_lane_is_not_waited_for() -> None:
    backend = EchoBackend()
    batcher = Batcher(backend, wait_seconds=EVERYONE)
    with batcher.lane():
        pass  # a search that ended
    with batcher.lane() as lane:  # alone now: its call goes at once, not after EVERYONE seconds
        got = lane.generate([[66]], [SampleParams(max_tokens=3)])
    assert [c.text for c in got] == ["BBB"]


def test_an_error_of_the_merged_call_reaches_every_lane_in_it() -> None:
    batcher = Batcher(EchoBackend(fail=True), wait_seconds=EVERYONE)
    with contextlib.ExitStack() as stack:
        lanes = _open_lanes(batcher, 2, stack)
        out = _in_threads(lanes, lambda i, lane: lane.generate([[65]], [SampleParams(max_tokens=1)]))
    assert all(isinstance(e, RuntimeError) and "out of memory" in str(e) for e in out)


def test_a_cancelled_lane_raises_before_it_queues() -> None:
    token = CancelToken()
    token.cancel()
    batcher = Batcher(EchoBackend())
    with batcher.lane() as lane, pytest.raises(Cancelled):
        lane.generate([[65]], [SampleParams(max_tokens=1)], cancel=token)
    assert batcher.backend.generate_sizes == []


@pytest.mark.model  # the tiny model's tokenizer comes from the default GGUF
def test_lanes_over_the_tiny_model_merge_into_one_transformers_call(tiny_backend) -> None:
    batcher = Batcher(tiny_backend, wait_seconds=EVERYONE)
    before = tiny_backend.counters.calls
    with contextlib.ExitStack() as stack:
        lanes = _open_lanes(batcher, 3, stack)
        prompt = tiny_backend.tokenize("def add(a, b):\n")

        def work(i: int, lane: Lane) -> list[Continuation]:
            params = [SampleParams(max_tokens=4, temperature=0.0, seed=i)] * 2
            return lane.generate([prompt, prompt[: -1 - i]], params)

        out = _in_threads(lanes, work)
    assert tiny_backend.counters.calls - before == 2  # 6 rows, the backend's batch_size is 4
    for lane, got in zip(lanes, out, strict=True):
        assert len(got) == 2 and all(1 <= len(c.tokens) <= 4 for c in got)
        assert lane.counters.tokens_generated == sum(len(c.tokens) for c in got)

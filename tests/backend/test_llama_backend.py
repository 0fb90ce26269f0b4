"""The llama.cpp backend against the real default GGUF: KV reuse, batching, judgements, cancel."""

from __future__ import annotations

import pytest

from o1coder.cancel import Cancelled, CancelToken
from o1coder.models.backend import SampleParams, common_prefix_length
from o1coder.models.llama_backend import LlamaBackend

pytestmark = pytest.mark.model

GREEDY = SampleParams(max_tokens=40, temperature=0.0)


@pytest.fixture(scope="module")
def backend(default_model_path):
    b = LlamaBackend(default_model_path, n_ctx=4096, n_seq=8)
    yield b
    b.close()


def chat(b: LlamaBackend, question: str) -> list[int]:
    return b.tokenize(
        b.render_chat(
            [{"role": "system", "content": "You are a concise Python expert."}, {"role": "user", "content": question}]
        )
    )


def test_chat_template_comes_from_the_gguf(backend):
    text = backend.render_chat([{"role": "user", "content": "hi"}])
    assert backend.has_chat_template()
    assert text.endswith("<|im_start|>assistant\n")
    # special tokens are parsed into single tokens
    assert backend.tokenize("<|im_start|>") == [151644]


def test_reused_prefix_gives_exactly_the_fresh_runs_tokens(backend, default_model_path):
    prompt = chat(backend, "Write a function that reverses a string.")
    [first] = backend.generate([prompt], [GREEDY])
    assert len(first.tokens) == 40
    # Continue from a prefix the cache holds: must equal the rest of the fresh run.
    before = backend.counters.snapshot()
    [rest] = backend.generate([prompt + first.tokens[:15]], [SampleParams(max_tokens=25, temperature=0.0)])
    used = backend.counters.since(before)
    assert rest.tokens == first.tokens[15:40]
    # Only the last prefix token was evaluated again (its logits are needed), nothing else.
    assert used.prompt_tokens_evaluated == 1
    # A fresh backend without any cache agrees token for token.
    fresh = LlamaBackend(default_model_path, n_ctx=2048, n_seq=2)
    try:
        [again] = fresh.generate([prompt + first.tokens[:15]], [SampleParams(max_tokens=25, temperature=0.0)])
        assert again.tokens == rest.tokens
        assert fresh.counters.prompt_tokens_evaluated == len(prompt) + 15
    finally:
        fresh.close()


def test_forget_drops_every_cached_prefix_and_decoding_is_unchanged(backend):
    prompt = chat(backend, "Write a function that doubles a number.")
    [before_forget] = backend.generate([prompt], [GREEDY])
    backend.forget()
    assert all(backend.kv_tokens(slot) == [] for slot in range(8))
    used = backend.counters.snapshot()
    [after_forget] = backend.generate([prompt], [GREEDY])
    assert after_forget.tokens == before_forget.tokens
    assert backend.counters.since(used).prompt_tokens_evaluated == len(prompt)  # nothing was cached


def test_batched_siblings_share_the_prompt_held_in_the_cache(backend):
    # Not asserted: that a batch decodes the same tokens as a single stream. llama.cpp does not
    # promise it (a batch's composition changes its floating-point sums; measured: three prompts
    # decoded together matched their single-stream greedy tokens for 32, 21 and 4 tokens).
    prompt = chat(backend, "Write a function that checks whether a number is even.")
    [single] = backend.generate([prompt], [GREEDY])
    before = backend.counters.snapshot()
    outs = backend.generate([prompt] * 3, [GREEDY] * 3)
    used = backend.counters.since(before)
    # the shared prefix is held once: three last tokens evaluated, no re-prefill
    assert used.prompt_tokens_evaluated == 3
    assert used.tokens_generated == sum(len(o.tokens) for o in outs)
    assert all(0 < len(o.tokens) <= GREEDY.max_tokens for o in [single, *outs])


def test_siblings_with_different_suffixes_share_the_parent(backend):
    parent = chat(backend, "Describe an algorithm for sorting a list.")
    suffixes = [backend.tokenize(s) for s in ("### Step 1: Outline\n", "### Step 1: Plan\n", "First,")]
    before = backend.counters.snapshot()
    outs = backend.generate([parent + s for s in suffixes], [SampleParams(max_tokens=8, temperature=0.0)] * 3)
    used = backend.counters.since(before)
    assert all(len(o.tokens) == 8 for o in outs)
    # parent evaluated at most once (it may be partly cached from earlier tests), suffixes once each
    assert used.prompt_tokens_evaluated <= len(parent) + sum(len(s) for s in suffixes)


def test_repeated_prompts_beside_another_are_evaluated_once(backend):
    # the opening's shape: two samples of one prompt and one of another, in one batch
    tests_prompt = chat(backend, "Write three assert lines testing a function that reverses a string.")
    answer_prompt = chat(backend, "Complete a Python function that reverses a string.")
    backend.generate([tests_prompt], [GREEDY])
    backend.generate([chat(backend, "Unrelated: name a prime number.")] * 8, [GREEDY] * 8)  # evict both
    before = backend.counters.snapshot()
    backend.generate([tests_prompt, tests_prompt, answer_prompt], [GREEDY] * 3)
    used = backend.counters.since(before)
    shared = common_prefix_length(tests_prompt, answer_prompt)
    # the shared start once, each prompt's own part once, and each stream's last token
    assert used.prompt_tokens_evaluated <= len(tests_prompt) + len(answer_prompt) - shared + 3
    # the next problem's test prompt: both samples find a slot holding its start (the previous
    # samples'), and its new part is still evaluated once
    next_tests = chat(backend, "Write three assert lines testing a function that reverses a list of words.")
    held = common_prefix_length(tests_prompt, next_tests)
    before = backend.counters.snapshot()
    backend.generate([next_tests, next_tests, answer_prompt], [GREEDY] * 3)
    used = backend.counters.since(before)
    assert used.prompt_tokens_evaluated <= len(next_tests) - held + 3


def test_sampling_is_seeded(backend):
    prompt = chat(backend, "Name a prime number and explain why.")
    params = [SampleParams(max_tokens=24, temperature=0.9, seed=s) for s in (1, 1, 2)]
    a, b, c = backend.generate([prompt] * 3, params)
    assert a.tokens == b.tokens
    assert a.tokens != c.tokens


def test_stop_strings_cut_the_text(backend):
    prompt = chat(backend, "Write a function that returns the square of a number.")
    [full] = backend.generate([prompt], [GREEDY])
    stop = full.text[20:26]  # a string the greedy run is known to produce
    [out] = backend.generate([prompt], [SampleParams(max_tokens=40, temperature=0.0, stop=(stop,))])
    assert out.finish_reason == "stop"
    assert out.stop_string == stop
    assert out.text == full.text[: full.text.index(stop)]
    assert len(out.tokens) < len(full.tokens)


def test_judge_reads_yes_no_from_the_last_logits(backend):
    # The mechanics, not the model's knowledge: instructions a 0.5B model follows reliably.
    yes, no = backend.judge(
        [chat(backend, "Reply with exactly the word Yes."), chat(backend, "Reply with exactly the word No.")],
        ["yes", "Yes"],
        ["no", "No"],
    )
    assert 0.0 <= no < 0.2 and 0.8 < yes <= 1.0


def test_judging_children_reuses_their_kv(backend):
    parent = chat(backend, "Write pseudocode to find the maximum of a list.")
    kids = backend.generate([parent] * 2, [SampleParams(max_tokens=12, temperature=0.8, seed=s) for s in (5, 6)])
    suffix = backend.tokenize("<|im_end|>\n<|im_start|>user\nIs this correct? Answer yes or no.<|im_end|>\n<|im_start|>assistant\n")
    before = backend.counters.snapshot()
    probs = backend.judge([parent + k.tokens + suffix for k in kids], ["yes"], ["no"])
    used = backend.counters.since(before)
    assert all(0.0 <= p <= 1.0 for p in probs)
    # the last sampled token of each child was never decoded, so it and the suffix are evaluated
    assert used.prompt_tokens_evaluated == 2 * (len(suffix) + 1)


def test_full_cache_evicts_old_sequences(default_model_path):
    small = LlamaBackend(default_model_path, n_ctx=1024, n_seq=4)
    try:
        for i in range(6):
            prompt = small.tokenize(f"<|im_start|>user\nCount from {i} upwards, in words.<|im_end|>\n<|im_start|>assistant\n")
            outs = small.generate([prompt] * 2, [SampleParams(max_tokens=120, temperature=0.8, seed=i + k) for k in range(2)])
            assert all(len(o.tokens) > 0 for o in outs)
    finally:
        small.close()


class CancelAtPoll(CancelToken):
    """A token that cancels itself when polled for the `at`-th time, counting every poll."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at
        self.polls = 0

    def raise_if_cancelled(self) -> None:
        self.polls += 1
        if self.polls == self.at:
            self.cancel()
        super().raise_if_cancelled()


def test_cancel_stops_generation_at_the_next_step_and_leaves_the_cache_consistent(backend):
    # The token is polled at every decode step, so a cancel waits for one step at most.
    counting = CancelAtPoll(0)  # never cancels
    [out] = backend.generate([chat(backend, "Count to ten.")], [SampleParams(max_tokens=30, temperature=0.0)], cancel=counting)
    assert counting.polls >= len(out.tokens)
    prompt = chat(backend, "Write a long essay about sorting algorithms.")
    token = CancelAtPoll(40)  # cancelled well inside the 2000 tokens
    with pytest.raises(Cancelled):
        backend.generate([prompt] * 2, [SampleParams(max_tokens=2000, temperature=0.8, seed=3)] * 2, cancel=token)
    assert token.polls == token.at  # the poll that saw the cancel was the last: nothing ran after it
    # afterwards the cache bookkeeping still matches the KV: greedy equals a fresh greedy run
    short = chat(backend, "Write a function that adds two numbers.")
    [a] = backend.generate([short], [GREEDY])
    [b] = backend.generate([short + a.tokens[:5]], [SampleParams(max_tokens=35, temperature=0.0)])
    assert b.tokens == a.tokens[5:]


def test_a_changed_context_setting_reloads_the_model_and_flash_attention_can_be_turned_on(default_model_path):
    from o1coder.config import ModelSettings
    from o1coder.models.pool import ModelPool

    path = str(default_model_path)
    pool = ModelPool(ModelSettings(policy=path, prm=path, tcg=path, context_size=2048, parallel_sequences=2))
    first = pool.get("policy")
    assert pool.get("tcg") is first  # one loaded copy serves every role naming it
    pool.reconfigure(ModelSettings(policy=path, prm=path, tcg=path, context_size=2048, parallel_sequences=2))
    assert pool.get("policy") is first  # nothing that shapes the context changed
    pool.reconfigure(
        ModelSettings(policy=path, prm=path, tcg=path, context_size=2048, parallel_sequences=2, flash_attention=True)
    )
    second = pool.get("policy")
    assert second is not first
    [out] = second.generate([chat(second, "Say hi.")], [SampleParams(max_tokens=4, temperature=0.0)])
    assert len(out.tokens) >= 1
    second.close()

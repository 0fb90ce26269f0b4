"""TransformersBackend: the engine's Backend protocol over a (tiny, random) transformers model."""

from __future__ import annotations

import pytest
import torch

from o1coder.cancel import Cancelled, CancelToken
from o1coder.models.backend import Backend, SampleParams
from o1coder_train.backends import sample_token, sample_tokens, yes_probability


@pytest.mark.model  # the tokenizer comes from the default GGUF
def test_satisfies_the_engine_protocol(tiny_backend) -> None:
    assert isinstance(tiny_backend, Backend)
    chat = tiny_backend.render_chat([{"role": "user", "content": "hi"}])
    assert chat.endswith("<|im_start|>assistant\n")
    assert tiny_backend.tokenize("<|im_end|>") == [tiny_backend.tokenizer.convert_tokens_to_ids("<|im_end|>")]


@pytest.mark.model  # the tokenizer comes from the default GGUF
def test_batched_left_padded_generation_matches_single(tiny_backend) -> None:
    short = tiny_backend.tokenize("def f(x):\n    return")
    long = tiny_backend.tokenize(
        tiny_backend.render_chat([{"role": "user", "content": "write a function " * 8}])
    )
    greedy = SampleParams(max_tokens=12, temperature=0.0)
    alone = tiny_backend.generate([short], [greedy])[0]
    together = tiny_backend.generate([long, short], [greedy, greedy])
    assert together[1].tokens == alone.tokens
    sampled = SampleParams(max_tokens=12, temperature=1.0, top_k=50, top_p=0.9, seed=7)
    a, b, c = tiny_backend.generate(
        [short, short, short], [sampled, sampled, SampleParams(max_tokens=12, seed=8)]
    )
    assert (
        a.tokens == b.tokens and a.tokens != c.tokens and a.finish_reason == "length" and len(a.tokens) == 12
    )


@pytest.mark.model  # the tokenizer comes from the default GGUF
def test_stop_strings_cut_the_text(tiny_backend) -> None:
    prefix = tiny_backend.tokenize("def f(x):\n    return")
    free = tiny_backend.generate([prefix], [SampleParams(max_tokens=10, temperature=0.0)])[0]
    stop = free.text[2:4]
    assert stop
    cut = tiny_backend.generate([prefix], [SampleParams(max_tokens=10, temperature=0.0, stop=(stop,))])[0]
    assert cut.finish_reason == "stop" and cut.stop_string == stop
    assert cut.text == free.text[: free.text.find(stop)]


@pytest.mark.model  # the tokenizer comes from the default GGUF
def test_judge_is_the_softmax_of_the_answer_tokens(tiny_backend) -> None:
    prefixes = [tiny_backend.tokenize("Is it? "), tiny_backend.tokenize("Answer yes or no:")]
    got = tiny_backend.judge(prefixes, ["yes", "Yes"], ["no", "No"])
    yes = [tiny_backend.tokenize(t)[0] for t in ("yes", "Yes")]
    no = [tiny_backend.tokenize(t)[0] for t in ("no", "No")]
    for prefix, p in zip(prefixes, got, strict=True):
        with torch.no_grad():
            logits = tiny_backend.model(torch.tensor([prefix])).logits[0, -1]
        probs = torch.softmax(logits, -1)
        assert p == pytest.approx(float(probs[yes].sum() / (probs[yes].sum() + probs[no].sum())), abs=1e-5)
    assert tiny_backend.counters.judgements >= 2


@pytest.mark.model  # the tokenizer comes from the default GGUF
def test_cancel_stops_generation(tiny_backend) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        tiny_backend.generate([tiny_backend.tokenize("x")], [SampleParams(max_tokens=5)], cancel=token)


def test_sampling_chain_respects_top_k_and_greedy() -> None:
    logits = torch.tensor([0.0, 5.0, 4.9, -3.0])
    assert sample_token(logits, SampleParams(temperature=0.0)) == 1
    gen = torch.Generator().manual_seed(0)
    draws = {sample_token(logits, SampleParams(temperature=5.0, top_k=2, top_p=1.0), gen) for _ in range(50)}
    assert draws == {1, 2}
    assert float(yes_probability(torch.tensor([[2.0, 2.0, 0.0]]), [0], [1])) == pytest.approx(0.5)


def test_rows_sampled_together_follow_each_rows_own_chain() -> None:
    """Each row of one call keeps its own params and generator: greedy, top-k, top-p, temperature."""
    logits = torch.tensor([[0.0, 5.0, 4.9, -3.0]] * 4)
    params = [
        SampleParams(temperature=0.0),
        SampleParams(temperature=1.0, top_k=1),
        SampleParams(temperature=1.0, top_k=4, top_p=0.3),  # the first token alone holds >= 0.3
        SampleParams(temperature=5.0, top_k=2, top_p=1.0),
    ]
    seen: list[set[int]] = [set() for _ in params]
    gens = [torch.Generator().manual_seed(i) for i in range(len(params))]
    for _ in range(200):
        for i, token in enumerate(sample_tokens(logits, params, gens)):
            seen[i].add(token)
    assert seen[:3] == [{1}, {1}, {1}] and seen[3] == {1, 2}


def test_the_draw_picks_tokens_with_their_softmax_probability() -> None:
    logits = torch.log(torch.tensor([0.5, 0.3, 0.2, 1e-9]))
    params = SampleParams(temperature=1.0, top_k=3, top_p=1.0)
    gen = torch.Generator().manual_seed(1234)  # fixed: the counts below are the same on every run
    n = 4000
    counts = torch.bincount(
        torch.tensor([sample_token(logits, params, gen) for _ in range(n)]), minlength=4
    ).tolist()
    assert counts[3] == 0
    for got, want in zip(counts[:3], (0.5, 0.3, 0.2), strict=True):
        assert abs(got / n - want) < 0.03, counts


def test_a_rows_draws_depend_on_its_seed_not_on_its_neighbours() -> None:
    logits = torch.zeros(3, 50)
    params = [SampleParams(temperature=1.0, top_k=50, top_p=1.0, seed=s) for s in (7, 8, 7)]

    def draws(rows: list[int]) -> list[list[int]]:
        gens = [torch.Generator().manual_seed(params[r].seed) for r in rows]
        return [sample_tokens(logits[rows], [params[r] for r in rows], gens) for _ in range(20)]

    together = draws([0, 1, 2])
    alone = draws([0])
    assert [d[0] for d in together] == [d[0] for d in alone] == [d[2] for d in together]

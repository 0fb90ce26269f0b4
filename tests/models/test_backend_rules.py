"""The rules every backend shares (`o1coder.models.backend`): stop strings, judgement token ids
and the chat text of a model without a template."""

from __future__ import annotations

import pytest

from o1coder.models.backend import find_stop, judgement_ids, plain_chat


def test_find_stop_gives_the_earliest_stop_string() -> None:
    assert find_stop("code\n```\n### Step 2", ("### Step", "```")) == (5, "```")
    assert find_stop("no stop here", ("```",)) is None
    assert find_stop("a```b```", ("```",), start=2) == (5, "```")
    assert find_stop("anything", ()) is None


def test_judgement_ids_are_the_distinct_first_tokens() -> None:
    vocab = {"yes": [1, 9], "Yes": [2], "YES": [1], "no": [3], "No": [4, 5]}
    assert judgement_ids(vocab.__getitem__, ("yes", "Yes", "YES"), ("no", "No")) == ([1, 2], [3, 4])
    with pytest.raises(ValueError, match="has no tokens"):
        judgement_ids(lambda _text: [], ("yes",), ("no",))


def test_plain_chat_writes_role_turns() -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert plain_chat(messages) == "System: be brief\n\nUser: hi\n\nAssistant: "
    assert plain_chat(messages, add_generation_prompt=False) == "System: be brief\n\nUser: hi\n\n"

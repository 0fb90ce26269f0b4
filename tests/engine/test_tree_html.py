"""The search tree page (`o1coder solve --tree`), from solves run on the ScriptedBackend FAKE."""

from __future__ import annotations

from html.parser import HTMLParser

from fakes import A1, DIRECT, TCG, BehaviourVerifier, ScriptedBackend
from test_engine_agreement import EXPECTED, OFF_BY_ONE, RIGHT, TESTS
from test_engine_agreement import PROBLEM as IDENTITY
from test_engine_agreement import reply as identity_reply
from test_engine_strategies import SEARCH_ONLY, mcts_backend, solve_on_one_model

from o1coder import tree_html
from o1coder.config import SearchSettings
from o1coder.engine.strategies import solve
from o1coder.engine.types import Budget


class Page(HTMLParser):
    """The page's elements: (tag, attributes) in order, and its text."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def nodes(self, cls: str = "node") -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == "li" and cls in (a.get("class") or "").split()]


def test_the_page_holds_every_node_and_highlights_the_chosen_path():
    backend = mcts_backend()
    backend.replies[A1] = [" plan alpha </pre><script>alert(1)</script>", " plan beta", " plan gamma"]
    result = solve_on_one_model(backend, SEARCH_ONLY, Budget(tokens=5000, nodes=40, seconds=60))
    page_text = tree_html.render(result, title="o1coder solve: add")
    page = Page(page_text)
    in_tree = [n for n in result.tree.iter_tree() if n is not result.tree]
    assert len(in_tree) == 3  # three plans; the answer came from a rollout below the first
    path = result.chosen.path()
    assert [n.action for n in path] == ["structure", "refine", "code"]
    assert len(page.nodes()) == 3 + 2 and len(page.nodes("rollout")) == 2  # shown under its plan
    assert len(page.nodes("chosen")) == len(path)
    opened = [a for t, a in page.elements if t == "details" and "open" in a]
    assert len(opened) == len(path)  # the chosen path is open, the rest folded
    assert not any(t == "script" for t, _ in page.elements)  # the model's text is escaped
    assert "plan alpha </pre><script>alert(1)</script>" in "".join(page.text)
    text = "".join(page.text)
    assert "reward 1.00" in text and "tests 3/3" in text and "ended by" in text


def test_the_page_shows_suspect_tests_with_what_the_consensus_computed():
    backend = ScriptedBackend(
        {
            DIRECT: [identity_reply("return x  # A"), identity_reply("return int(x)  # B"),
                     identity_reply("return x + 1  # C")],
            TCG: ["1) == 1\n```"],
        },
        name="fake",
    )
    verifier = BehaviourVerifier({"# A": RIGHT, "# B": RIGHT, "# C": OFF_BY_ONE}, EXPECTED)
    result = solve(
        IDENTITY, policy=backend, prm=backend, tcg=backend, verifier=verifier,
        settings=SearchSettings(seed=1), budget=Budget(tokens=3000, nodes=40, seconds=60), tests=TESTS,
    )  # fmt: skip
    page = Page(tree_html.render(result))
    assert len(page.nodes()) == 3 and len(page.nodes("chosen")) == 1  # three direct answers, A chosen
    cells = [a.get("class") for t, a in page.elements if t == "td"]
    assert cells.count("suspect") == 1 and cells.count("passed") == 3
    text = "".join(page.text)
    assert "the consensus computed" in text and "(1 suspect)" in text


def test_a_strategy_without_a_tree_gets_its_answer_and_tests():
    backend = ScriptedBackend({DIRECT: [identity_reply("return x  # A")], TCG: ["1) == 1\n```"]}, name="fake")
    verifier = BehaviourVerifier({"# A": RIGHT}, EXPECTED)
    result = solve(
        IDENTITY, policy=backend, prm=backend, tcg=backend, verifier=verifier,
        settings=SearchSettings(seed=1, strategy="greedy"), budget=Budget(tokens=3000), tests=TESTS,
    )  # fmt: skip
    page = Page(tree_html.render(result))
    assert page.nodes() == [] and "The greedy strategy builds no tree." in "".join(page.text)

"""A finished solve as one self-contained HTML page: the search tree and why its answer won.

Every node shows its action, its text (a plan or code), visits, value, PRM value and, for code,
the verified reward and its tests (passed / failed / suspect, by the solve's final agreement).
The chosen answer's path is highlighted and open; the rest of the tree is folded. No script, no
external resource: the page can be opened from disk or inside an editor's web view.
"""

from __future__ import annotations

import html

from o1coder.engine.tree import Node
from o1coder.engine.types import SolveResult
from o1coder.sandbox.types import TestStatus

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
pre { background: #f5f5f7; padding: .5em; overflow-x: auto; margin: .3em 0; }
ul.tree, ul.tree ul { list-style: none; padding-left: 1.4em; border-left: 1px dotted #bbb; }
details > summary { cursor: pointer; }
.node { margin: .2em 0; }
.chosen > details > summary { background: #fff3b0; font-weight: 600; }
.rollout > details > summary { font-style: italic; }
.stat { color: #555; font-size: .9em; margin-left: .6em; }
.passed { color: #137333; } .failed, .error, .timeout { color: #b3261e; } .suspect { color: #8a5a00; }
table { border-collapse: collapse; } td, th { padding: .15em .6em; text-align: left; vertical-align: top; }
"""

ACTION_TITLES = {"structure": "plan", "refine": "refined plan", "code": "code", "repair": "repair"}


def render(result: SolveResult, title: str = "") -> str:
    """The page for `result` (a strategy without a tree gets its answer and tests only)."""
    chosen = set(map(id, result.chosen.path())) if result.chosen is not None else set()
    suspect = _suspect_names(result)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title or 'o1coder search tree')}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{_e(title or 'Search tree')}</h1>",
        _summary(result),
        "<h2>Answer</h2>",
        f"<pre class=\"answer\">{_e(result.code) or '(no code)'}</pre>",
        "<h2>Tests</h2>",
        _tests_table(result),
        "<h2>Tree</h2>",
    ]
    if result.tree is None:
        parts.append(f"<p>The {_e(result.stats.strategy)} strategy builds no tree.</p>")
    else:
        view = _View(chosen, suspect, _rollout_chain(result.chosen, result.tree))
        parts.append('<ul class="tree">' + "".join(view.node(child) for child in view.children(result.tree)) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _summary(result: SolveResult) -> str:
    s = result.stats
    facts = [
        ("strategy", s.strategy),
        ("ended by", s.ended_by or "-"),
        ("nodes", s.nodes),
        ("candidates", s.candidates),
        ("clusters of behaviour", s.clusters),
        ("suspect tests", s.suspect_tests),
        ("tokens generated", s.tokens_generated),
        ("seconds", f"{s.wall_seconds:.1f}"),
        ("answer's reward", f"{result.value:.2f}"),
        ("prompts", s.prompt_version),
    ]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    return f'<table class="summary">{rows}</table>'


def _tests_table(result: SolveResult) -> str:
    outcomes = {o.name: o for o in result.test_results.outcomes} if result.test_results else {}
    rows = []
    for test in result.tests:
        o = outcomes.get(test.name)
        status = o.status.value if o else "not run"
        detail = o.message if o and not o.passed else ""
        if o and o.status is TestStatus.SUSPECT and o.output:
            detail = f"the consensus computed {o.output}"
        rows.append(
            f'<tr><td class="{_e(status)}">{_e(status)}</td><td><code>{_e(test.source.strip())}</code></td>'
            f"<td>{_e(detail)}</td></tr>"
        )
    return f'<table class="tests">{"".join(rows)}</table>' if rows else "<p>(no tests)</p>"


class _View:
    """Renders nodes; `rollout` is the chosen answer's steps that a rollout wrote outside the tree
    (shown under the tree node they continue)."""

    def __init__(self, chosen: set[int], suspect: set[str], rollout: list[Node]):
        self.chosen, self.suspect = chosen, suspect
        self.rollout = {id(node) for node in rollout}
        self.extra = {id(node.parent): node for node in rollout}

    def children(self, node: Node) -> list[Node]:
        extra = self.extra.get(id(node))
        return [*node.children, extra] if extra is not None and extra not in node.children else list(node.children)

    def node(self, node: Node) -> str:
        rollout = id(node) in self.rollout
        classes = ["node"] + (["chosen"] if id(node) in self.chosen else []) + (["rollout"] if rollout else [])
        label = ACTION_TITLES.get(node.action or "", node.action or "")
        if rollout:
            label += " (rollout, not kept in the tree)"
        stats = [f"visits {node.visits}", f"value {node.value:.2f}"]
        if node.prm_value is not None:
            stats.append(f"PRM {node.prm_value:.2f}")
        if node.reward is not None:
            stats.append(f"reward {node.reward:.2f}")
        if node.report is not None:
            stats.append(_tests_line(node, self.suspect))
        is_open = " open" if id(node) in self.chosen else ""
        inner = [
            f'<li class="{" ".join(classes)}"><details{is_open}>',
            f"<summary>{f'#{node.id} ' if node.id >= 0 else ''}{_e(label)}<span class=\"stat\">{_e(' · '.join(stats))}</span></summary>",
        ]
        if node.feedback:
            inner.append(f'<pre class="feedback">{_e(node.feedback)}</pre>')
        inner.append(f'<pre class="text">{_e(node.content)}</pre>')
        children = self.children(node)
        if children:
            inner.append("<ul>" + "".join(self.node(child) for child in children) + "</ul>")
        inner.append("</details></li>")
        return "".join(inner)


def _tests_line(node: Node, suspect: set[str]) -> str:
    report = node.report
    assert report is not None
    if not report.compiled:
        return "does not compile"
    judged = [o for o in report.outcomes if o.name not in suspect]
    passed = sum(o.passed for o in judged)
    line = f"tests {passed}/{len(judged)}"
    return line + (f" ({len(report.outcomes) - len(judged)} suspect)" if len(judged) < len(report.outcomes) else "")


def _suspect_names(result: SolveResult) -> set[str]:
    if result.test_results is None:
        return set()
    return {o.name for o in result.test_results.outcomes if o.status is TestStatus.SUSPECT}


def _rollout_chain(chosen: Node | None, root: Node) -> list[Node]:
    """The chosen answer's steps outside the tree (a rollout's), top first; [] when it is in it."""
    if chosen is None:
        return []
    in_tree = {id(node) for node in root.iter_tree()}
    return [node for node in chosen.path() if id(node) not in in_tree]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)

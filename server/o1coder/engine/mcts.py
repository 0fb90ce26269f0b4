"""ReST-MCTS* over pseudocode-first steps, with O1-CODER execution at the code leaves.

One iteration: select a leaf by UCB from the root; ask the self-critic whether a refined plan
is complete (then its children are code steps only); expand b children in one batched
generate; value them in one batched judge (code children are executed: their verified reward
is their value); roll out greedily from the best new child (steps outside the tree, but code
they reach is verified and kept as a candidate) and blend V <- (1-a)V + a v_max; back up
visit-weighted means to the root.

With `direct_answer_first` (the default), the root starts with one verified code child: the
greedy direct answer, written in the same batch as the tests (`opening`). If it passes every
generated test the search ends at once; otherwise it stays a candidate and the tree search
spends the rest of the budget on pseudocode-first paths.

The search stops when a verified candidate reaches the value threshold, the budget (tokens of
every role, tree nodes, seconds) is used up, or nothing is left to expand. PRM values of
pseudocode steps never stop it: only executed code can. The answer is the candidate with the
best verified reward (PRM value breaking ties); if no code was reached, one greedy code step
is written from the best pseudocode node so there is always code.
"""

from __future__ import annotations

from dataclasses import dataclass

from o1coder.config import SearchSettings
from o1coder.engine.steps import Candidate, StepRunner, best_candidate
from o1coder.engine.tree import Node, backpropagate, ucb
from o1coder.engine.types import CODE, REFINE, STRUCTURE, ProgressCallback, ProgressEvent

_ROLLOUT_SEED_OFFSET = 1_000_003


@dataclass
class SearchOutcome:
    root: Node
    candidates: list[Candidate]
    best: Candidate | None
    stopped_by: str  # "threshold", "tokens", "nodes", "seconds", "exhausted"
    iterations: int


def child_actions(node: Node, settings: SearchSettings) -> list[str]:
    """The action schedule: which steps the b children of `node` take."""
    b = settings.branching
    if node.action is None:
        direct = min(settings.direct_code_children, b - 1)
        return [STRUCTURE] * (b - direct) + [CODE] * direct
    if node.action == STRUCTURE:
        return [REFINE if settings.max_refine_steps >= 1 else CODE] * b
    if node.end_of_inference or not may_refine(node, settings):
        return [CODE] * b
    return [REFINE] + [CODE] * (b - 1)


def may_refine(node: Node, settings: SearchSettings) -> bool:
    """Whether a refine node may still get a refine child (refine depth not used up)."""
    return node.action == REFINE and node.depth < 1 + settings.max_refine_steps


def rollout_action(node: Node, settings: SearchSettings) -> str:
    """The schedule's next step for a single rollout proposal, preferring to reach code."""
    if node.action is None:
        return STRUCTURE
    if node.action == STRUCTURE and settings.max_refine_steps >= 1:
        return REFINE
    return CODE


class MCTS:
    def __init__(
        self, runner: StepRunner, settings: SearchSettings, progress: ProgressCallback | None = None
    ):
        self.runner = runner
        self.settings = settings
        self.meter = runner.meter
        self.root = runner.root
        self.progress = progress
        self.iterations = 0

    # ------------------------------------------------------------ the loop
    def run(self) -> SearchOutcome:
        stopped_by = ""
        self._emit()  # the search phase starts (an editor shows it, and may cancel it, at once)
        while True:
            stopped_by = self.stop_reason() or ""
            if stopped_by:
                break
            leaf = self.select()
            if leaf is None:
                stopped_by = "exhausted"
                break
            self.iterate(leaf)
            self.iterations += 1
            self._emit()
        if not self.runner.candidates:
            self.fallback_code()
            self._emit()
        return SearchOutcome(
            root=self.root,
            candidates=self.runner.candidates,
            best=best_candidate(self.runner.candidates),
            stopped_by=stopped_by,
            iterations=self.iterations,
        )

    def stop_reason(self) -> str | None:
        if self.solved():
            return "threshold"
        if self.meter.tokens_left < self.settings.branching:
            return "tokens"  # not one token per child of an expansion left
        return self.meter.exhausted()

    def solved(self) -> bool:
        best = best_candidate(self.runner.candidates)
        return best is not None and best.reward >= self.settings.value_threshold

    def select(self) -> Node | None:
        """From the root, the UCB-best open child while the node is expanded; None if all is closed."""
        if not self.root.is_open():
            return None
        s = self.settings
        node = self.root
        while node.expanded:
            parent = node
            node = max(
                (c for c in parent.children if c.is_open()),
                key=lambda c: ucb(c, parent.visits, s.exploration, s.unvisited_bonus),
            )
        return node

    def iterate(self, leaf: Node) -> list[Node]:
        """Expand `leaf`, value its children, roll out from the best one, back up. Returns the children."""
        s = self.settings
        if may_refine(leaf, s):  # the self-critic; never at step 1 (a structure node)
            self.runner.end_of_inference(leaf)
        actions = child_actions(leaf, s)
        seeds = [s.seed + leaf.id * s.branching + i for i in range(len(actions))]
        children = self.runner.propose(leaf, actions, temperature=s.temperature, seeds=seeds, attach=True)
        self.runner.value(children)
        if children and not self.solved():
            best = max(children, key=lambda c: c.value)
            if not best.is_terminal:
                v_max = self.rollout(best)
                best.value = (1.0 - s.rollout_alpha) * best.value + s.rollout_alpha * v_max
        backpropagate(leaf)
        return children

    def rollout(self, start: Node) -> float:
        """Greedy MC rollout: up to rollout_steps steps, each sampling rollout_branch proposals in one
        batch and keeping the best by value; returns the best value seen."""
        s = self.settings
        k = s.rollout_branch
        v_max = start.value
        node = start
        for step in range(s.rollout_steps):
            if node.is_terminal or self.meter.exhausted() in ("tokens", "seconds"):
                break
            first = s.seed + _ROLLOUT_SEED_OFFSET + (self.iterations * s.rollout_steps + step) * k
            proposals = self.runner.propose(
                node,
                [rollout_action(node, s)] * k,
                temperature=s.temperature,
                seeds=[first + j for j in range(k)],
                attach=False,
            )
            if not proposals:
                break
            self.runner.value(proposals)
            node = max(proposals, key=lambda n: n.value)
            v_max = max(v_max, node.value)
            if self.solved():
                break
        return v_max

    def fallback_code(self) -> None:
        """No code reached within the budget: one greedy code step from the best pseudocode node."""
        pseudo = [n for n in self.root.iter_tree() if n.parent is not None and n.action != CODE]
        start = max(pseudo, key=lambda n: n.value) if pseudo else self.root
        children = self.runner.propose(
            start, [CODE], temperature=0.0, seeds=[self.settings.seed], attach=True, final=True
        )
        self.runner.value(children)
        backpropagate(start)

    def _emit(self) -> None:
        if self.progress is None:
            return
        best = best_candidate(self.runner.candidates)
        self.progress(
            ProgressEvent(
                phase="search",
                nodes=self.meter.nodes,
                best_value=best.reward if best else 0.0,
                tests_passing=best.report.passed if best else 0,
                tests_total=len(self.runner.tests),
                tokens_generated=self.meter.tokens_generated,
            )
        )

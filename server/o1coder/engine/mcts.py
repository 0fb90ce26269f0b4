"""ReST-MCTS* over pseudocode-first steps, with O1-CODER execution at the code leaves.

One iteration: select a leaf by UCB from the root; ask the self-critic whether a refined plan
is complete (then its children are code steps only); expand b children in one batched
generate; value them in one batched judge (code children are executed: their verified reward
is their value); roll out greedily from the best new child (steps outside the tree, but code
they reach is verified and kept as a candidate) and blend V <- (1-a)V + a v_max; back up
visit-weighted means to the root.

With `direct_answer_first` (the default), the root starts with verified code children, System
1: the greedy direct answer, written in the same batch as the tests (`opening`), and, when it
fails a test, `direct_samples` - 1 sampled ones. If the greedy answer passes every test, or
independent answers agree and pass every test that is not suspect, the search ends at once;
otherwise they stay candidates and the tree search (System 2) spends the rest of the budget on
pseudocode-first paths.

Every verified candidate joins execution agreement (`agreement`): candidates are clustered by
their outputs on the tests' inputs, and a test that contradicts a consensus of independent
candidates is suspect and counts for no reward. The search stops when the answer (the best
member of the best cluster) reaches the value threshold ("consensus" when independent
candidates agree on it, else "threshold"), the budget (tokens of every role, tree nodes,
seconds) is used up, or nothing is left to expand. PRM values of pseudocode steps never stop
it: only executed code can. If no code was reached, one greedy code step is written from the
best pseudocode node so there is always code.
"""

from __future__ import annotations

from dataclasses import dataclass

from o1coder.config import SearchSettings
from o1coder.engine.steps import Candidate, StepRunner
from o1coder.engine.tree import Node, backpropagate, ucb
from o1coder.engine.types import (
    CODE,
    CODE_ACTIONS,
    REFINE,
    REPAIR,
    STRUCTURE,
    ProgressCallback,
    ProgressEvent,
)

_ROLLOUT_SEED_OFFSET = 1_000_003


@dataclass
class SearchOutcome:
    root: Node
    candidates: list[Candidate]
    best: Candidate | None
    stopped_by: str  # "consensus", "threshold", "tokens", "nodes", "seconds", "exhausted"
    iterations: int


def child_actions(node: Node, settings: SearchSettings) -> list[str]:
    """The action schedule: which steps the b children of `node` take."""
    b = settings.branching
    if node.action in CODE_ACTIONS:  # failing code (a repairable leaf): rewrite it from its feedback
        return [REPAIR] * max(1, b - 1)
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
    if node.action in CODE_ACTIONS:
        return REPAIR
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
            leaves = self.select_leaves(self.round_size())
            if not leaves:
                stopped_by = "exhausted"
                break
            self.iterate_leaves(leaves)
            self._emit()
        if not self.runner.candidates:
            self.fallback_code()
            self._emit()
        return SearchOutcome(
            root=self.root,
            candidates=self.runner.candidates,
            best=self.runner.best(),
            stopped_by=stopped_by,
            iterations=self.iterations,
        )

    def stop_reason(self) -> str | None:
        if self.solved():
            return "consensus" if self.runner.agreement.consensus else "threshold"
        if self.meter.tokens_left < self.settings.branching:
            return "tokens"  # not one token per child of an expansion left
        return self.meter.exhausted()

    def round_size(self) -> int:
        """Leaves to expand this round: `parallel_leaves`, fewer when the tokens left cannot give
        each child of every expansion one token (`stop_reason` ensures one expansion can)."""
        s = self.settings
        return max(1, min(s.parallel_leaves, self.meter.tokens_left // s.branching))

    def solved(self) -> bool:
        best = self.runner.best()
        return best is not None and best.reward >= self.settings.value_threshold

    def select(self) -> Node | None:
        """From the root, the UCB-best open child while the node is expanded; None if all is closed."""
        leaves = self.select_leaves(1)
        return leaves[0] if leaves else None

    def select_leaves(self, n: int) -> list[Node]:
        """Up to `n` distinct leaves, each chosen by UCB as `select` does, with virtual visits.

        Once a leaf is chosen, it is closed to the next selections of the round and every node on
        its path counts one more visit (a virtual loss in visits only, as in parallel MCTS), so
        the exploration term steers the next selection elsewhere. Fewer than `n` when the open
        tree has fewer leaves.
        """
        s = self.settings
        chosen: list[Node] = []
        virtual: dict[Node, int] = {}
        for _ in range(n):
            if not self.root.is_open(chosen):
                break
            node = self.root
            while node.expanded:
                parent = node
                parent_visits = parent.visits + virtual.get(parent, 0)
                node = max(
                    (c for c in parent.children if c.is_open(chosen)),
                    key=lambda c: ucb(c, parent_visits, s.exploration, s.unvisited_bonus, virtual.get(c, 0)),
                )
            chosen.append(node)
            walk: Node | None = node
            while walk is not None:
                virtual[walk] = virtual.get(walk, 0) + 1
                walk = walk.parent
        return chosen

    def iterate(self, leaf: Node) -> list[Node]:
        """Expand `leaf`, value its children, roll out from the best one, back up. Returns the children."""
        [children] = self.iterate_leaves([leaf])
        return children

    def iterate_leaves(self, leaves: list[Node]) -> list[list[Node]]:
        """One iteration for each leaf, their model calls batched together: one self-critic judge,
        one expansion generate, one judge of every new child, and each rollout step of every
        rollout in one generate. Returns each leaf's children."""
        s = self.settings
        self.runner.end_of_inference([leaf for leaf in leaves if may_refine(leaf, s)])  # never at step 1
        actions = [child_actions(leaf, s) for leaf in leaves]
        families = self.runner.propose_many(
            leaves,
            actions,
            temperature=s.temperature,
            seeds=[[s.seed + leaf.id * s.branching + i for i in range(len(a))] for leaf, a in zip(leaves, actions, strict=True)],
            attach=True,
        )
        self.runner.value([child for children in families for child in children])
        firsts = [self.iterations + i for i in range(len(leaves))]
        if not self.solved():
            bests = [max(children, key=lambda c: c.value) if children else None for children in families]
            rolled = [(best, first) for best, first in zip(bests, firsts, strict=True) if best and not best.is_terminal]
            v_maxes = self.rollouts([best for best, _ in rolled], [first for _, first in rolled])
            for (best, _), v_max in zip(rolled, v_maxes, strict=True):
                best.value = (1.0 - s.rollout_alpha) * best.value + s.rollout_alpha * v_max
        for leaf in leaves:
            backpropagate(leaf)
        self.iterations += len(leaves)
        return families

    def rollouts(self, starts: list[Node], iterations: list[int]) -> list[float]:
        """Greedy MC rollouts, one from each start, in lockstep: up to rollout_steps steps, each
        sampling rollout_branch proposals per rollout (every rollout's in one batch) and keeping the
        best by value; returns the best value each saw. `iterations` number the rollouts (they pick
        the sampling seeds)."""
        s = self.settings
        k = s.rollout_branch
        v_max = [start.value for start in starts]
        nodes = list(starts)
        going = list(range(len(starts)))
        for step in range(s.rollout_steps):
            going = [i for i in going if not nodes[i].is_terminal]
            if not going or self.meter.exhausted() in ("tokens", "seconds"):
                break
            firsts = [s.seed + _ROLLOUT_SEED_OFFSET + (iterations[i] * s.rollout_steps + step) * k for i in going]
            proposals = self.runner.propose_many(
                [nodes[i] for i in going],
                [[rollout_action(nodes[i], s)] * k for i in going],
                temperature=s.temperature,
                seeds=[[first + j for j in range(k)] for first in firsts],
                attach=False,
            )
            self.runner.value([node for family in proposals for node in family])
            still: list[int] = []
            for i, family in zip(going, proposals, strict=True):
                if family:  # nothing proposed (junk or no tokens left) ends that rollout
                    nodes[i] = max(family, key=lambda n: n.value)
                    v_max[i] = max(v_max[i], nodes[i].value)
                    still.append(i)
            going = still
            if self.solved():
                break
        return v_max

    def fallback_code(self) -> None:
        """No code reached within the budget: one greedy code step from the best pseudocode node."""
        pseudo = [n for n in self.root.iter_tree() if n.parent is not None and n.action not in CODE_ACTIONS]
        start = max(pseudo, key=lambda n: n.value) if pseudo else self.root
        children = self.runner.propose(
            start, [CODE], temperature=0.0, seeds=[self.settings.seed], attach=True, final=True
        )
        self.runner.value(children)
        backpropagate(start)

    def _emit(self) -> None:
        if self.progress is None:
            return
        best = self.runner.best()
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

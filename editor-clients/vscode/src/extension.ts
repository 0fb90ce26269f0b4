// The o1-coder extension: starts `o1coder serve` over stdio, passes the `o1coder` settings and
// surfaces the server's commands, progress and messages. The logic lives in the server.
import * as os from "node:os";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
} from "vscode-languageclient/node";
import {
  CANCEL_COMMAND,
  SHOW_MODELS_COMMAND,
  WORK_COMMANDS,
  type WorkCommand,
  cancelArgs,
  cancelMessage,
  modelLine,
  modelRows,
  outcome,
  workArgs,
  workCommand,
} from "./commandArgs";
import { NotificationProgressFeature } from "./progress";
import {
  SECTION,
  SettingsError,
  configurationItem,
  didChangeConfigurationParams,
  initializationOptions,
  serverLaunch,
} from "./settings";

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
let trace: vscode.LogOutputChannel;
let status: vscode.StatusBarItem;
const running = new Map<number, string>(); // run -> title, for the status item
let runs = 0;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("o1-coder", { log: true });
  trace = vscode.window.createOutputChannel("o1-coder trace", { log: true });
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = "o1coder.client.showModels";
  context.subscriptions.push(output, trace, status);

  for (const command of WORK_COMMANDS) {
    context.subscriptions.push(vscode.commands.registerCommand(command.client, () => runWork(command, [])));
  }
  context.subscriptions.push(
    vscode.commands.registerCommand("o1coder.client.cancel", cancel),
    vscode.commands.registerCommand("o1coder.client.showModels", showModels),
    vscode.commands.registerCommand("o1coder.client.showLog", () => output.show(true)),
    vscode.commands.registerCommand("o1coder.client.restart", restart),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
    { dispose: () => void stop() },
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

function configuration(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

/** The value of a dotted setting name, e.g. "o1coder" (the whole section) or "o1coder.models". */
function read(name: string): unknown {
  return vscode.workspace.getConfiguration().get(name);
}

function createClient(): LanguageClient | undefined {
  const config = configuration();
  let launch;
  try {
    launch = serverLaunch(
      { command: config.get("server.command"), pythonPath: config.get("server.pythonPath") },
      { workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, home: os.homedir() },
    );
  } catch (error) {
    if (error instanceof SettingsError) {
      void vscode.window.showErrorMessage(error.message, "Open Settings").then((choice) => {
        if (choice) {
          void vscode.commands.executeCommand("workbench.action.openSettings", "o1coder.server");
        }
      });
      return undefined;
    }
    throw error;
  }
  output.info(`starting: ${[launch.command, ...launch.args].join(" ")}`);
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    outputChannel: output,
    traceOutputChannel: trace,
    initializationOptions: () => initializationOptions(read(SECTION)),
    middleware: {
      // Code actions and any other caller of the server's work commands go through runWork, so
      // they get the same progress notification and outcome message as the palette commands.
      executeCommand: (command, args, next) => {
        const work = workCommand(command);
        return work ? runWork(work, args) : next(command, args);
      },
      workspace: {
        configuration: (params, token, next) => {
          const answers = params.items.map((item) => configurationItem(item.section, read));
          if (answers.every((answer) => answer !== undefined)) {
            return answers;
          }
          return Promise.resolve(next(params, token)).then((defaults) =>
            Array.isArray(defaults) ? answers.map((answer, index) => (answer === undefined ? defaults[index] : answer)) : defaults,
          );
        },
      },
    },
  };
  const created = new LanguageClient("o1coder", "o1-coder", serverOptions, clientOptions);
  created.registerFeature(new NotificationProgressFeature(created, (line) => output.info(line)));
  created.onDidChangeState(() => updateStatus());
  return created;
}

async function start(): Promise<void> {
  client = createClient();
  updateStatus();
  if (!client) {
    return;
  }
  try {
    await client.start();
  } catch (error) {
    const choice = await vscode.window.showErrorMessage(
      `o1-coder: the server did not start (${error instanceof Error ? error.message : String(error)}). ` +
        "Is o1-coder installed? Set o1coder.server.pythonPath or o1coder.server.command.",
      "Show Log",
      "Open Settings",
    );
    if (choice === "Show Log") {
      output.show(true);
    } else if (choice === "Open Settings") {
      void vscode.commands.executeCommand("workbench.action.openSettings", "o1coder.server");
    }
  }
  updateStatus();
}

async function stop(): Promise<void> {
  const current = client;
  client = undefined;
  if (current && current.state !== State.Stopped) {
    await current.stop();
  }
  updateStatus();
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
  if (event.affectsConfiguration(`${SECTION}.server`)) {
    void restart();
  } else if (event.affectsConfiguration(SECTION) && client?.state === State.Running) {
    void client.sendNotification(DidChangeConfigurationNotification.type, didChangeConfigurationParams(read(SECTION)));
  }
}

function updateStatus(): void {
  const state = client?.state;
  if (running.size > 0) {
    status.text = `$(sync~spin) o1-coder: ${[...new Set(running.values())].join(", ")}`;
  } else if (state === State.Running) {
    status.text = "$(sparkle) o1-coder";
  } else if (state === State.Starting) {
    status.text = "$(loading~spin) o1-coder";
  } else {
    status.text = "$(error) o1-coder";
  }
  status.tooltip = state === State.Running ? "o1-coder: server running; click to show the models" : "o1-coder: server not running (see the o1-coder output)";
  status.show();
}

function runningClient(): LanguageClient | undefined {
  if (!client || client.state !== State.Running) {
    void vscode.window.showErrorMessage("o1-coder: the server is not running.", "Show Log", "Restart").then((choice) => {
      if (choice === "Show Log") {
        output.show(true);
      } else if (choice === "Restart") {
        void restart();
      }
    });
    return undefined;
  }
  return client;
}

function pythonEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  return editor?.document.languageId === "python" ? editor : undefined;
}

/**
 * Runs a work command and shows its outcome. `args` come from a code action; from the palette
 * they are empty and the active editor's cursor is sent. Progress arrives as the server's
 * work-done progress (NotificationProgressFeature).
 */
async function runWork(command: WorkCommand, args: unknown[]): Promise<unknown> {
  const server = runningClient();
  if (!server) {
    return undefined;
  }
  if (args.length === 0) {
    const editor = pythonEditor();
    if (!editor) {
      void vscode.window.showWarningMessage(`o1-coder: ${command.title} needs a Python editor with the cursor in a function.`);
      return undefined;
    }
    const { line, character } = editor.selection.active;
    args = workArgs(command, { uri: editor.document.uri.toString(), version: editor.document.version, line, character });
  }
  const run = ++runs;
  running.set(run, command.title);
  updateStatus();
  try {
    const result: unknown = await server.sendRequest(ExecuteCommandRequest.type, { command: command.server, arguments: args });
    const shown = outcome(command.title, result);
    if (shown.severity === "info") {
      void vscode.window.showInformationMessage(shown.message);
    } else if (shown.severity === "warning") {
      void vscode.window.showWarningMessage(shown.message);
    } else {
      void vscode.window.showErrorMessage(shown.message);
    }
    output.info(shown.message);
    return result;
  } catch (error) {
    const message = `o1-coder: ${command.title} failed: ${error instanceof Error ? error.message : String(error)}`;
    output.error(message);
    void vscode.window.showErrorMessage(message, "Show Log").then((choice) => choice && output.show(true));
    return undefined;
  } finally {
    running.delete(run);
    updateStatus();
  }
}

async function cancel(): Promise<void> {
  const server = runningClient();
  if (!server) {
    return;
  }
  const uri = pythonEditor()?.document.uri.toString();
  try {
    const result: unknown = await server.sendRequest(ExecuteCommandRequest.type, { command: CANCEL_COMMAND, arguments: cancelArgs(uri) });
    const message = cancelMessage(result);
    output.info(message);
    vscode.window.setStatusBarMessage(message, 5000);
  } catch (error) {
    void vscode.window.showErrorMessage(`o1-coder: cancel failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function showModels(): Promise<void> {
  const server = runningClient();
  if (!server) {
    return;
  }
  let rows;
  try {
    rows = modelRows(await server.sendRequest(ExecuteCommandRequest.type, { command: SHOW_MODELS_COMMAND, arguments: [] }));
  } catch (error) {
    void vscode.window.showErrorMessage(`o1-coder: show models failed: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  for (const row of rows) {
    output.info(modelLine(row));
  }
  await vscode.window.showQuickPick(
    rows.map((row) => ({
      label: `${row.error ? "$(error)" : row.loaded ? "$(check)" : "$(circle-outline)"} ${row.role}: ${row.model}`,
      description: row.error ? "error" : row.loaded ? "loaded" : "not loaded",
      detail: row.error || row.path,
    })),
    { title: "o1-coder models", placeHolder: "The model serving each role (settings: o1coder.models.*)" },
  );
}

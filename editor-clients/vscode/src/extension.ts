// The o1-coder extension: starts `o1coder serve` over stdio, passes the `o1coder` settings and
// surfaces the server's commands, progress and messages. The logic lives in the server.
import * as fs from "node:fs";
import * as os from "node:os";
import * as vscode from "vscode";
import {
  CloseAction,
  CodeActionRequest,
  CodeActionTriggerKind,
  DidChangeConfigurationNotification,
  ErrorAction,
  type ErrorHandler,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
} from "vscode-languageclient/node";
import {
  CANCEL_COMMAND,
  SHOW_MODELS_COMMAND,
  SHOW_TREE_COMMAND,
  WORK_COMMANDS,
  type WorkCommand,
  cancelArgs,
  cancelMessage,
  modelLine,
  modelRows,
  offeredActions,
  outcome,
  workArgs,
  workCommand,
} from "./commandArgs";
import { NotificationProgressFeature } from "./progress";
import {
  SECTION,
  type ServerLaunch,
  SettingsError,
  configurationItem,
  didChangeConfigurationParams,
  findExecutable,
  initializationOptions,
  missingServerMessage,
  serverLaunch,
  serverSettingsCommand,
  startFailedMessage,
} from "./settings";
import { isTreePage, treePageTitle, webviewHtml } from "./treePage";

/**
 * The language client, quiet while it starts: vscode-languageclient shows its own error toast
 * when the server cannot be started ("couldn't create connection to server"), and another when
 * the connection closes; start() shows one error that says what to do instead. Once running,
 * its messages (a crash, a restart) are shown as usual.
 */
class O1coderClient extends LanguageClient {
  starting = false;

  override error(message: string, data?: unknown, showNotification: boolean | "force" = true): void {
    super.error(message, data, this.starting ? false : showNotification);
  }
}

let client: O1coderClient | undefined;
let output: vscode.LogOutputChannel;
let trace: vscode.LogOutputChannel;
let status: vscode.StatusBarItem;
const running = new Map<number, string>(); // run -> title, for the status item
let runs = 0;
let showingTree = 0; // o1coder.showTree requests in flight: their showDocument opens a webview
let treePanel: vscode.WebviewPanel | undefined;

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
    vscode.commands.registerCommand("o1coder.client.actions", showActions),
    vscode.commands.registerCommand("o1coder.client.cancel", cancel),
    vscode.commands.registerCommand("o1coder.client.showModels", showModels),
    vscode.commands.registerCommand("o1coder.client.showTree", showTree),
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

function createClient(): O1coderClient | undefined {
  const config = configuration();
  let launch: ServerLaunch;
  try {
    launch = serverLaunch(
      { command: config.get("server.command"), pythonPath: config.get("server.pythonPath") },
      { workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, home: os.homedir() },
    );
  } catch (error) {
    if (error instanceof SettingsError) {
      void vscode.window.showErrorMessage(error.message, "Open Settings").then((choice) => {
        if (choice) {
          openServerSettings();
        }
      });
      return undefined;
    }
    throw error;
  }
  const executable = findExecutable(launch.command, {
    path: process.env.PATH,
    pathext: process.env.PATHEXT,
    platform: process.platform,
    isExecutable,
  });
  if (!executable) {
    const message = missingServerMessage(launch);
    output.error(message);
    void showStartError(message);
    return undefined;
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
    errorHandler: startErrorHandler(() => created),
    initializationOptions: () => initializationOptions(read(SECTION)),
    middleware: {
      window: {
        // The server opens its search tree page with window/showDocument (external). A VS Code in
        // the browser or on a remote workspace cannot open a file:// page of the server's machine
        // (code-server sets location.href to it, and the browser refuses): a webview shows it.
        showDocument: (params, token, next) =>
          showingTree > 0 && isTreePage(params) ? { success: showTreePage(vscode.Uri.parse(params.uri).fsPath) } : next(params, token),
      },
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
  const created = new O1coderClient("o1coder", "o1-coder", serverOptions, clientOptions);
  created.registerFeature(new NotificationProgressFeature(created, (line) => output.info(line)));
  created.onDidChangeState(() => updateStatus());
  return created;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * While the client starts, a failure neither restarts the server nor shows a toast (start()
 * shows one); once it runs, vscode-languageclient's default handling (restarts, then a message).
 */
function startErrorHandler(owner: () => O1coderClient): ErrorHandler {
  let running: ErrorHandler | undefined;
  const fallback = (): ErrorHandler => (running ??= owner().createDefaultErrorHandler());
  return {
    error: (error, message, count) =>
      owner().starting ? { action: ErrorAction.Shutdown, handled: true } : fallback().error(error, message, count),
    closed: () => (owner().starting ? { action: CloseAction.DoNotRestart, handled: true } : fallback().closed()),
  };
}

async function showStartError(message: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, "Show Log", "Open Settings");
  if (choice === "Show Log") {
    output.show(true);
  } else if (choice === "Open Settings") {
    openServerSettings();
  }
}

/** The settings editor at o1coder.server.*, on the tab this window reads them from. */
function openServerSettings(): void {
  const [command, argument] = serverSettingsCommand(vscode.env.remoteName);
  void vscode.commands.executeCommand(command, argument);
}

async function start(): Promise<void> {
  client = createClient();
  updateStatus();
  if (!client) {
    return;
  }
  const starting = client;
  starting.starting = true;
  try {
    await starting.start();
  } catch (error) {
    output.error(startFailedMessage(error));
    void showStartError(startFailedMessage(error));
  } finally {
    starting.starting = false;
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
  // the editor's context menu offers "o1-coder: Cancel" only while work runs
  void vscode.commands.executeCommand("setContext", "o1coder.running", running.size > 0);
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

/**
 * "o1-coder actions…" in the editor's context menu: the server's code actions at the cursor,
 * which list only what applies there (Refine only where the function has a plan), then the
 * chosen one runs like its palette command.
 */
async function showActions(): Promise<void> {
  const server = runningClient();
  const editor = pythonEditor();
  if (!server || !editor) {
    return;
  }
  let actions: unknown;
  try {
    actions = await server.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: editor.document.uri.toString() },
      range: server.code2ProtocolConverter.asRange(editor.selection),
      context: { diagnostics: [], triggerKind: CodeActionTriggerKind.Invoked },
    });
  } catch (error) {
    void vscode.window.showErrorMessage(`o1-coder: listing the actions failed: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  const offered = offeredActions(actions);
  if (offered.length === 0) {
    void vscode.window.showInformationMessage(
      "o1-coder: nothing to do here. Put the cursor in a function whose body is empty, pass, ... or a TODO, " +
        "on a comment describing a task, or select the code.",
    );
    return;
  }
  const picked = await vscode.window.showQuickPick(
    offered.map((action) => ({ label: action.title, action })),
    { title: "o1-coder", placeHolder: "What to do with the function at the cursor" },
  );
  if (picked) {
    await runWork(picked.action.work, picked.action.args);
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

/** The search tree of the last Implement on the active file, in a webview: the server asks VS Code
 *  to open its page (window/showDocument), which the middleware shows here (showTreePage). */
async function showTree(): Promise<void> {
  const server = runningClient();
  if (!server) {
    return;
  }
  const uri = vscode.window.activeTextEditor?.document.uri.toString();
  let reply: { shown?: boolean; page?: string | null; reason?: string };
  showingTree++;
  try {
    reply = await server.sendRequest(ExecuteCommandRequest.type, {
      command: SHOW_TREE_COMMAND,
      arguments: uri ? [{ uri }] : [],
    });
  } catch (error) {
    void vscode.window.showErrorMessage(`o1-coder: show search tree failed: ${error instanceof Error ? error.message : String(error)}`);
    return;
  } finally {
    showingTree--;
  }
  if (reply?.shown) {
    return;
  }
  if (reply?.page) {
    showTreePage(reply.page);
    return;
  }
  void vscode.window.showInformationMessage(`o1-coder: ${reply?.reason ?? "no search tree to show"}`);
}

/** The page (a file the server wrote, without script) in the one search tree panel. */
function showTreePage(file: string): boolean {
  let html: string;
  try {
    html = fs.readFileSync(file, "utf8");
  } catch (error) {
    const message = `o1-coder: cannot read the search tree page ${file}: ${error instanceof Error ? error.message : String(error)}`;
    output.error(message);
    void vscode.window.showErrorMessage(message);
    return false;
  }
  output.info(`search tree: ${file}`);
  const title = treePageTitle(html);
  if (treePanel) {
    treePanel.title = title;
    treePanel.reveal(vscode.ViewColumn.Beside);
  } else {
    treePanel = vscode.window.createWebviewPanel("o1coder.searchTree", title, vscode.ViewColumn.Beside, {
      enableScripts: false,
      enableFindWidget: true,
    });
    treePanel.onDidDispose(() => (treePanel = undefined));
  }
  treePanel.webview.html = webviewHtml(html);
  return true;
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

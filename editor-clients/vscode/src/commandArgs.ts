// The server's commands as the extension calls them: their arguments, and how their replies
// are shown. Pure: no `vscode` import, so node's test runner covers it.

/** One work command: the server's command id, and the client command offering it in the palette. */
export interface WorkCommand {
  server: string;
  client: string;
  title: string;
  /** What the palette command sends: the cursor ({uri, position, version}) or the document ({uri}). */
  at: "cursor" | "document";
}

/** Commands that run the model and reply `{applied, reason, ...}` once done. */
export const WORK_COMMANDS: readonly WorkCommand[] = [
  { server: "o1coder.plan", client: "o1coder.client.plan", title: "Plan in pseudocode", at: "cursor" },
  { server: "o1coder.refine", client: "o1coder.client.refine", title: "Refine pseudocode", at: "cursor" },
  { server: "o1coder.implement", client: "o1coder.client.implement", title: "Implement with search", at: "cursor" },
  { server: "o1coder.generateTests", client: "o1coder.client.generateTests", title: "Generate tests", at: "cursor" },
  // re-runs the last job whose edit was refused because the document changed meanwhile
  { server: "o1coder.retry", client: "o1coder.client.retry", title: "Retry the refused edit", at: "document" },
];

export const CANCEL_COMMAND = "o1coder.cancel";
export const SHOW_MODELS_COMMAND = "o1coder.showModels";
export const SHOW_TREE_COMMAND = "o1coder.showTree";

export function workCommand(serverCommand: string): WorkCommand | undefined {
  return WORK_COMMANDS.find((command) => command.server === serverCommand);
}

/** The single argument of a work command. `position` is in UTF-16 code units, as LSP's default. */
export interface WorkArgs {
  uri: string;
  position: { line: number; character: number };
  version: number;
}

export interface DocumentAt {
  uri: string;
  version: number;
  line: number;
  character: number;
}

/** The argument list a palette command sends for `command` at the cursor `at`. */
export function workArgs(command: WorkCommand, at: DocumentAt): [WorkArgs] | [{ uri: string }] {
  if (command.at === "document") {
    return [{ uri: at.uri }];
  }
  return [{ uri: at.uri, position: { line: at.line, character: at.character }, version: at.version }];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `o1coder.cancel` arguments: the document's runs, or every run when no document is given. */
export function cancelArgs(uri?: string): unknown[] {
  return uri === undefined ? [] : [{ uri }];
}

/** What `o1coder.cancel` answered (`{"cancelled": [{title, uri, stopMs, ...}]}`), in words. */
export function cancelMessage(result: unknown): string {
  const cancelled = isRecord(result) && Array.isArray(result.cancelled) ? result.cancelled.filter(isRecord) : [];
  if (cancelled.length === 0) {
    return "o1-coder: nothing was running";
  }
  const parts = cancelled.map((job) => {
    const title = typeof job.title === "string" ? job.title : "work";
    const file = typeof job.uri === "string" ? job.uri.slice(job.uri.lastIndexOf("/") + 1) : "";
    const stopped = typeof job.stopMs === "number" ? `, stopped in ${Math.round(job.stopMs)} ms` : "";
    return `${title}${file ? ` on ${file}` : ""}${stopped}`;
  });
  return `o1-coder: cancelled ${parts.join("; ")}`;
}

export type Severity = "info" | "warning" | "error";

export interface Outcome {
  severity: Severity;
  message: string;
}

/**
 * The notification that ends a work command. The server decides and explains (`reason`);
 * the client only picks the notification's severity from `applied`.
 */
export function outcome(title: string, result: unknown): Outcome {
  if (!isRecord(result) || typeof result.applied !== "boolean") {
    return { severity: "error", message: `o1-coder: ${title}: unexpected reply ${JSON.stringify(result) ?? "undefined"}` };
  }
  const reason = typeof result.reason === "string" && result.reason.trim() !== "" ? result.reason.trim() : undefined;
  if (result.applied) {
    return { severity: "info", message: `o1-coder: ${title}: applied${reason ? ` (${reason})` : ""}` };
  }
  return { severity: "warning", message: `o1-coder: ${title}: not applied${reason ? `: ${reason}` : ""}` };
}

export interface ModelRow {
  role: string;
  model: string;
  path: string;
  loaded: boolean;
  error: string;
}

/** Rows of the `o1coder.showModels` reply: `{"roles": [{role, model, path, loaded, error}], "busy": bool}`. */
export function modelRows(result: unknown): ModelRow[] {
  const roles = isRecord(result) && Array.isArray(result.roles) ? result.roles.filter(isRecord) : [];
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  return roles.map((entry) => ({
    role: text(entry.role),
    model: text(entry.model),
    path: text(entry.path),
    loaded: entry.loaded === true,
    error: text(entry.error),
  }));
}

/** One line per role, for the output channel and the quick pick. */
export function modelLine(row: ModelRow): string {
  const state = row.error ? `error: ${row.error}` : row.loaded ? "loaded" : "not loaded";
  return `${row.role}: ${row.model || "(none)"} (${state})${row.path ? ` ${row.path}` : ""}`;
}

/** One entry of the "o1-coder actions…" pick: a work command the server offers at the cursor. */
export interface OfferedAction {
  title: string;
  work: WorkCommand;
  args: unknown[];
}

/**
 * The work commands among the server's code actions at the cursor, in its order. The server
 * lists only what applies there (Refine only where the function has plan comments); an action
 * carries its command, or (when the client resolves commands lazily) `data: {command, arguments}`.
 */
export function offeredActions(actions: unknown): OfferedAction[] {
  const list = Array.isArray(actions) ? actions.filter(isRecord) : [];
  const offered: OfferedAction[] = [];
  for (const action of list) {
    const command = isRecord(action.command) ? action.command : undefined;
    const data = isRecord(action.data) ? action.data : undefined;
    const id = typeof action.command === "string" ? action.command : (command?.command ?? data?.command);
    const work = typeof id === "string" ? workCommand(id) : undefined;
    if (!work || work.server === "o1coder.retry") {
      continue;
    }
    const args = Array.isArray(command?.arguments)
      ? command.arguments
      : Array.isArray(action.arguments)
        ? action.arguments
        : data?.arguments !== undefined
          ? [data.arguments]
          : [];
    offered.push({ title: typeof action.title === "string" ? action.title : work.title, work, args });
  }
  return offered;
}

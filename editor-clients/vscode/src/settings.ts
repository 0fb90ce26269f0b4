// The extension's settings: which of them the server receives, and how the server is started.
// Pure: no `vscode` import, so node's test runner covers it (test/settings.test.ts).

/** Keys of the `o1coder` section that belong to the extension; the server never sees them. */
export const CLIENT_KEYS: readonly string[] = ["server", "trace"];

/** The configuration section the server reads (initializationOptions, didChangeConfiguration). */
export const SECTION = "o1coder";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * The server's settings from the whole `o1coder` section: every key except the extension's own
 * (`server`, `trace`), as plain JSON. The shape is the server's (`o1coder.config.Settings`,
 * camelCase); the extension does not interpret it, so a setting added to the server and to
 * package.json flows through without a change here.
 */
export function serverSettings(section: unknown): JsonObject {
  // A VS Code WorkspaceConfiguration carries its values as own properties next to methods;
  // a JSON round trip keeps the values and drops the methods.
  const plain: unknown = JSON.parse(JSON.stringify(section ?? {}));
  if (plain === null || typeof plain !== "object" || Array.isArray(plain)) {
    return {};
  }
  const settings = plain as JsonObject;
  for (const key of CLIENT_KEYS) {
    delete settings[key];
  }
  return settings;
}

/**
 * The initializationOptions: `{"o1coder": {...}}`. The server also takes the bare section, but
 * under its name a misspelt section is reported instead of being taken for another client's.
 */
export function initializationOptions(section: unknown): { [SECTION]: JsonObject } {
  return { [SECTION]: serverSettings(section) };
}

/** The didChangeConfiguration payload the server expects: `{"settings": {"o1coder": {...}}}`. */
export function didChangeConfigurationParams(section: unknown): { settings: { [SECTION]: JsonObject } } {
  return { settings: initializationOptions(section) };
}

/**
 * The answer to one `workspace/configuration` item. `read(name)` returns the VS Code
 * configuration section `name`. Items outside `o1coder` are left to the default handler
 * (`undefined`); the extension's own keys are answered with null.
 */
export function configurationItem(
  section: string | undefined,
  read: (name: string) => unknown,
): Json | undefined {
  if (section === SECTION) {
    return serverSettings(read(SECTION));
  }
  if (section === undefined || !section.startsWith(SECTION + ".")) {
    return undefined;
  }
  const first = section.slice(SECTION.length + 1).split(".")[0];
  if (CLIENT_KEYS.includes(first)) {
    return null;
  }
  const value: unknown = read(section);
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

export interface ServerLaunch {
  command: string;
  args: string[];
}

export interface LaunchSettings {
  /** `o1coder.server.command`: the whole command line, or empty. */
  command: unknown;
  /** `o1coder.server.pythonPath`: an interpreter, or empty. */
  pythonPath: unknown;
}

export interface LaunchContext {
  /** The first workspace folder's path, if a folder is open. */
  workspaceFolder?: string;
  /** The user's home directory, for a leading `~`. */
  home: string;
}

export class SettingsError extends Error {}

/**
 * How to start the server:
 * `o1coder.server.command` if set, else `<pythonPath> -m o1coder serve` if an interpreter is set,
 * else `o1coder serve` found on PATH. `${workspaceFolder}` and a leading `~` are expanded.
 */
export function serverLaunch(settings: LaunchSettings, context: LaunchContext): ServerLaunch {
  const expand = (part: string): string => {
    let out = part;
    if (out === "~" || out.startsWith("~/")) {
      out = context.home + out.slice(1);
    }
    if (out.includes("${workspaceFolder}")) {
      if (context.workspaceFolder === undefined) {
        throw new SettingsError(`o1coder.server: ${part} names \${workspaceFolder}, but no folder is open`);
      }
      out = out.split("${workspaceFolder}").join(context.workspaceFolder);
    }
    return out;
  };

  const command = settings.command ?? [];
  if (!Array.isArray(command) || !command.every((part) => typeof part === "string")) {
    throw new SettingsError("o1coder.server.command must be a list of strings");
  }
  if (command.length > 0) {
    if ((command[0] as string).trim() === "") {
      throw new SettingsError("o1coder.server.command: the first item must name the executable");
    }
    const [head, ...rest] = command.map(expand);
    return { command: head, args: rest };
  }

  const pythonPath = settings.pythonPath ?? "";
  if (typeof pythonPath !== "string") {
    throw new SettingsError("o1coder.server.pythonPath must be a string");
  }
  if (pythonPath.trim() !== "") {
    return { command: expand(pythonPath.trim()), args: ["-m", "o1coder", "serve"] };
  }
  return { command: "o1coder", args: ["serve"] };
}

export interface SearchEnvironment {
  /** The PATH the server would be started with. */
  path: string | undefined;
  /** Windows' PATHEXT (".EXE;.CMD;..."); ignored elsewhere. */
  pathext?: string;
  platform: string;
  /** True when `file` exists and may be executed. */
  isExecutable: (file: string) => boolean;
}

/**
 * The file `command` would start, or undefined when there is none: a command with a directory
 * part is taken as it is, a bare name is looked up on PATH (with PATHEXT's endings on Windows).
 * A server that is not installed is told to the user once, before anything is started.
 */
export function findExecutable(command: string, env: SearchEnvironment): string | undefined {
  const windows = env.platform === "win32";
  const separator = windows ? ";" : ":";
  const endings = windows ? ["", ...(env.pathext ?? ".EXE;.CMD;.BAT;.COM").split(";").filter(Boolean)] : [""];
  const hasDirectory = command.includes("/") || (windows && command.includes("\\"));
  const folders = hasDirectory ? [""] : (env.path ?? "").split(separator).filter(Boolean);
  for (const folder of folders) {
    for (const ending of endings) {
      const file = folder === "" ? command + ending : `${folder.replace(/[\\/]+$/, "")}${windows ? "\\" : "/"}${command}${ending}`;
      if (env.isExecutable(file)) {
        return file;
      }
    }
  }
  return undefined;
}

/**
 * The command behind "Open Settings": the settings editor searching o1coder.server. They are
 * machine-overridable settings, which a remote window (code-server, Remote-SSH, WSL, a dev
 * container: `vscode.env.remoteName` is set) takes from the remote's settings; its User tab shows
 * "No Settings Found" for them, so the Remote tab is opened there.
 */
export function serverSettingsCommand(remoteName: string | undefined): [string, unknown] {
  return remoteName
    ? ["workbench.action.openRemoteSettings", { query: "o1coder.server" }]
    : ["workbench.action.openSettings", "o1coder.server"];
}

/** Why the server is missing, and what to do: the text of the one error the extension shows. */
export function missingServerMessage(launch: ServerLaunch): string {
  const where = launch.command.includes("/") || launch.command.includes("\\")
    ? `${launch.command} is not an executable file`
    : `\`${launch.command}\` is not on PATH`;
  return (
    `o1-coder: the server cannot start: ${where}. Install o1-coder (from a clone: \`pipx install .\`), ` +
    "or set o1coder.server.pythonPath or o1coder.server.command."
  );
}

/** The one error for a server that was found but did not start (it exited, or did not answer). */
export function startFailedMessage(error: unknown): string {
  const detail = error instanceof Error ? error.message : String(error);
  return (
    `o1-coder: the server did not start (${detail}). Is o1-coder installed in that environment? ` +
    "See the o1-coder output for its messages; set o1coder.server.pythonPath or o1coder.server.command."
  );
}

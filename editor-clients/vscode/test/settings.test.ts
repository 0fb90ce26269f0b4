import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  CLIENT_KEYS,
  SettingsError,
  configurationItem,
  didChangeConfigurationParams,
  findExecutable,
  initializationOptions,
  missingServerMessage,
  serverLaunch,
  serverSettings,
  serverSettingsCommand,
  startFailedMessage,
} from "../src/settings";

const ROOT = path.resolve(__dirname, "..", "..");
const packageJson = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
const properties: Record<string, { default: unknown; description?: string; type: string }> =
  packageJson.contributes.configuration.properties;

/** What VS Code's getConfiguration().get("o1coder") returns when nothing is set: the defaults, nested. */
function defaultsSection(): Record<string, unknown> {
  const section: Record<string, any> = {};
  for (const [key, property] of Object.entries(properties)) {
    const parts = key.split(".").slice(1);
    let node = section;
    for (const part of parts.slice(0, -1)) {
      node = node[part] ??= {};
    }
    node[parts[parts.length - 1]] = property.default;
  }
  return section;
}

describe("serverSettings", () => {
  test("passes the server's sections and drops the extension's own keys", () => {
    const section = {
      models: { policy: "qwen2.5-coder-0.5b", threads: 4 },
      search: { strategy: "greedy", budgetTokens: 400 },
      server: { command: ["o1coder", "serve"], pythonPath: "/usr/bin/python3" },
      trace: { server: "verbose" },
    };
    assert.deepEqual(serverSettings(section), {
      models: { policy: "qwen2.5-coder-0.5b", threads: 4 },
      search: { strategy: "greedy", budgetTokens: 400 },
    });
    assert.equal((section as any).server.pythonPath, "/usr/bin/python3", "the input is not modified");
  });

  test("keeps values only, as a WorkspaceConfiguration object carries methods too", () => {
    const config = { get: () => 1, has: () => true, editor: { keepPseudocodeComments: false } };
    assert.deepEqual(serverSettings(config), { editor: { keepPseudocodeComments: false } });
  });

  test("anything but an object gives no settings", () => {
    for (const value of [undefined, null, 3, "x", [1, 2]]) {
      assert.deepEqual(serverSettings(value), {});
    }
  });

  test("package.json's defaults reach the server as the four server sections, camelCase", () => {
    const sent = serverSettings(defaultsSection());
    assert.deepEqual(Object.keys(sent).sort(), ["editor", "models", "sandbox", "search"]);
    assert.equal((sent.search as any).strategy, "mcts");
    assert.equal((sent.search as any).budgetTokens, 3000);
    assert.equal((sent.editor as any).keepPseudocodeComments, true);
    for (const group of Object.values(sent)) {
      for (const [key, value] of Object.entries(group as object)) {
        assert.match(key, /^[a-z][A-Za-z]*$/);
        assert.notEqual(typeof value, "object", `${key} is a leaf setting`);
      }
    }
  });

  test("initializationOptions carry the section under its name", () => {
    assert.deepEqual(initializationOptions({ search: { seed: 3 }, trace: { server: "off" } }), { o1coder: { search: { seed: 3 } } });
  });

  test("didChangeConfiguration carries the section under settings.o1coder", () => {
    assert.deepEqual(didChangeConfigurationParams({ search: { seed: 3 }, server: { pythonPath: "" } }), {
      settings: { o1coder: { search: { seed: 3 } } },
    });
  });
});

describe("package.json settings", () => {
  test("every setting has a type, a default and a description", () => {
    assert.ok(Object.keys(properties).length > 30);
    for (const [key, property] of Object.entries(properties)) {
      assert.match(key, /^o1coder\.[a-z]+\.[a-zA-Z]+$/, key);
      assert.ok("default" in property, `${key} has a default`);
      assert.ok(property.description && property.description.length > 10, `${key} has a description`);
      assert.ok(property.type, `${key} has a type`);
    }
  });

  test("the extension's own settings are the ones it drops", () => {
    const clientGroups = new Set(
      Object.keys(properties)
        .map((key) => key.split(".")[1])
        .filter((group) => CLIENT_KEYS.includes(group)),
    );
    assert.deepEqual([...clientGroups].sort(), [...CLIENT_KEYS].sort());
    assert.ok("o1coder.server.command" in properties);
    assert.ok("o1coder.server.pythonPath" in properties);
    assert.ok("o1coder.trace.server" in properties, "vscode-languageclient reads <id>.trace.server");
  });
});

describe("configurationItem", () => {
  const settings: Record<string, unknown> = {
    o1coder: { models: { threads: 2 }, server: { command: [] } },
    "o1coder.models": { threads: 2 },
    "o1coder.server": { command: [] },
  };
  const read = (name: string) => settings[name];

  test("answers the whole section without the extension's keys", () => {
    assert.deepEqual(configurationItem("o1coder", read), { models: { threads: 2 } });
  });
  test("answers a subsection", () => {
    assert.deepEqual(configurationItem("o1coder.models", read), { threads: 2 });
    assert.equal(configurationItem("o1coder.nothing", read), null);
  });
  test("does not leak the extension's settings", () => {
    assert.equal(configurationItem("o1coder.server", read), null);
    assert.equal(configurationItem("o1coder.trace.server", read), null);
  });
  test("leaves other sections to the default handler", () => {
    assert.equal(configurationItem("python", read), undefined);
    assert.equal(configurationItem("o1coderx", read), undefined);
    assert.equal(configurationItem(undefined, read), undefined);
  });
});

describe("serverLaunch", () => {
  const context = { workspaceFolder: "/work/project", home: "/home/me" };

  test("defaults to `o1coder serve` from PATH", () => {
    assert.deepEqual(serverLaunch({ command: [], pythonPath: "" }, context), { command: "o1coder", args: ["serve"] });
    assert.deepEqual(serverLaunch({ command: undefined, pythonPath: undefined }, context), {
      command: "o1coder",
      args: ["serve"],
    });
  });

  test("an interpreter runs the server module", () => {
    assert.deepEqual(serverLaunch({ command: [], pythonPath: "~/venv/bin/python" }, context), {
      command: "/home/me/venv/bin/python",
      args: ["-m", "o1coder", "serve"],
    });
  });

  test("a command wins over the interpreter and is expanded", () => {
    assert.deepEqual(
      serverLaunch({ command: ["${workspaceFolder}/.venv/bin/o1coder", "serve", "~"], pythonPath: "/usr/bin/python3" }, context),
      { command: "/work/project/.venv/bin/o1coder", args: ["serve", "/home/me"] },
    );
  });

  test("bad settings are refused with the setting's name", () => {
    assert.throws(() => serverLaunch({ command: "o1coder serve", pythonPath: "" }, context), SettingsError);
    assert.throws(() => serverLaunch({ command: [1], pythonPath: "" }, context), /o1coder\.server\.command/);
    assert.throws(() => serverLaunch({ command: [" "], pythonPath: "" }, context), /first item/);
    assert.throws(() => serverLaunch({ command: [], pythonPath: 3 }, context), /pythonPath/);
    assert.throws(
      () => serverLaunch({ command: ["${workspaceFolder}/o1coder"], pythonPath: "" }, { home: "/home/me" }),
      /no folder is open/,
    );
  });
});

describe("a missing server", () => {
  const files = new Set(["/venv/bin/o1coder", "/usr/bin/python3", "C:\\Tools\\o1coder.EXE"]);
  const isExecutable = (file: string): boolean => files.has(file);
  const posix = { path: "/usr/local/bin:/venv/bin/", platform: "linux", isExecutable };

  test("a bare name is looked up on PATH, a path is taken as it is", () => {
    assert.equal(findExecutable("o1coder", posix), "/venv/bin/o1coder");
    assert.equal(findExecutable("o1coder", { ...posix, path: "/usr/local/bin" }), undefined);
    assert.equal(findExecutable("o1coder", { ...posix, path: undefined }), undefined);
    assert.equal(findExecutable("/usr/bin/python3", { ...posix, path: "" }), "/usr/bin/python3");
    assert.equal(findExecutable("/venv/bin/python", posix), undefined);
    assert.equal(
      findExecutable("o1coder", { path: "C:\\Python;C:\\Tools", pathext: ".COM;.EXE", platform: "win32", isExecutable }),
      "C:\\Tools\\o1coder.EXE",
    );
  });

  test("one message says what is missing and what to do", () => {
    const onPath = missingServerMessage({ command: "o1coder", args: ["serve"] });
    assert.match(onPath, /`o1coder` is not on PATH/);
    assert.match(onPath, /pipx install/);
    assert.match(onPath, /o1coder\.server\.pythonPath/);
    assert.match(missingServerMessage({ command: "/venv/bin/python", args: ["-m", "o1coder", "serve"] }), /\/venv\/bin\/python is not an executable file/);
    assert.match(startFailedMessage(new Error("Connection got disposed.")), /did not start \(Connection got disposed\.\)/);
  });

  test("start() shows that one message: vscode-languageclient's own toasts are muted while it starts", () => {
    const source = readFileSync(path.join(ROOT, "src", "extension.ts"), "utf8");
    assert.match(source, /super\.error\(message, data, this\.starting \? false : showNotification\)/);
    assert.match(source, /owner\(\)\.starting \? \{ action: CloseAction\.DoNotRestart, handled: true \}/);
    assert.equal(source.match(/showStartError\(/g)?.length, 3); // the definition, a missing server, a failed start
  });
});

describe("Open Settings", () => {
  test("a local window opens the settings editor at o1coder.server", () => {
    assert.deepEqual(serverSettingsCommand(undefined), ["workbench.action.openSettings", "o1coder.server"]);
  });
  test("a remote window opens its Remote tab, where machine-overridable settings are read", () => {
    // code-server's User tab shows "No Settings Found" for o1coder.server.* (seen in make e2e)
    assert.deepEqual(serverSettingsCommand("ssh-remote"), ["workbench.action.openRemoteSettings", { query: "o1coder.server" }]);
  });
});

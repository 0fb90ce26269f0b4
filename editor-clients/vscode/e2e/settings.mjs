// The VS Code settings of the e2e profile, in code-server's user data folder:
//   User/settings.json     the search budget, small enough for a few minutes on 2 loaded cores, and
//                          VS Code's first-run noise (welcome page, tips, trust prompt, git) off so
//                          the screenshots show the test;
//   Machine/settings.json  o1coder.server.command: the venv's `o1coder serve`. It is a
//                          machine-overridable setting, and a remote window (code-server is one)
//                          takes such settings from the remote's settings, not the user's: this is
//                          "Preferences: Open Remote Settings (JSON)".
//
//   node settings.mjs USER_DATA_DIR COMMAND [ARG...]   writes both
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export function userSettings() {
  return {
    "o1coder.models.threads": 2,
    "o1coder.models.contextSize": 4096,
    "o1coder.models.parallelSequences": 4,
    "o1coder.search.strategy": "mcts",
    "o1coder.search.budgetTokens": 1500,
    "o1coder.search.budgetNodes": 4,
    "o1coder.search.budgetSeconds": 100,
    "o1coder.search.branching": 2,
    "o1coder.search.numTests": 3,
    "o1coder.search.directSamples": 2,
    "o1coder.search.rolloutSteps": 1,
    "o1coder.search.rolloutBranch": 2,
    "o1coder.search.seed": 0,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "security.workspace.trust.enabled": false,
    "extensions.ignoreRecommendations": true,
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "files.autoSave": "off",
    "editor.minimap.enabled": false,
    // the test types settings JSON in one go (e2e.mjs setServerCommand)
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "editor.autoSurround": "never",
    "window.restoreWindows": "none",
    "git.openRepositoryInParentFolders": "never",
  };
}

export function machineSettings(command) {
  return { "o1coder.server.command": command };
}

export function writeSettings(userDataDir, command) {
  const files = {
    User: userSettings(),
    Machine: machineSettings(command),
  };
  for (const [folder, content] of Object.entries(files)) {
    mkdirSync(path.join(userDataDir, folder), { recursive: true });
    writeFileSync(path.join(userDataDir, folder, "settings.json"), `${JSON.stringify(content, null, 2)}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [userDataDir, ...command] = process.argv.slice(2);
  if (!userDataDir || command.length === 0) {
    console.error("usage: node settings.mjs USER_DATA_DIR COMMAND [ARG...]");
    process.exit(2);
  }
  writeSettings(userDataDir, command);
}

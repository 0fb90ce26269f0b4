// The extension in a real VS Code: headless Chromium (playwright-core) drives code-server, which
// run.sh started with the .vsix installed and the settings of settings.mjs. Each step has a
// generous timeout that names the step when it hangs, and leaves a screenshot in E2E_ARTIFACTS.
//
// Environment (run.sh sets it): E2E_URL, E2E_WORKSPACE, E2E_ARTIFACTS, E2E_SETTINGS (the remote
// settings.json that holds o1coder.server.command), E2E_TREES (where the server writes search tree pages),
// E2E_O1CODER, CHROMIUM. E2E_ONLY=step,step runs only those steps (and the three that start
// the workbench), for working on one of them.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { chromium } from "playwright-core";
import { machineSettings } from "./settings.mjs";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`e2e.mjs: ${name} is not set (run it through run.sh)`);
    process.exit(2);
  }
  return value;
};
const BASE_URL = env("E2E_URL");
const WORKSPACE = env("E2E_WORKSPACE");
const ARTIFACTS = env("E2E_ARTIFACTS");
const SETTINGS = env("E2E_SETTINGS");
const TREES = env("E2E_TREES");
const O1CODER = env("E2E_O1CODER");
const CHROMIUM = env("CHROMIUM");
const ONLY = process.env.E2E_ONLY ? new Set(["workbench", "open-stub", "activated-status-bar", ...process.env.E2E_ONLY.split(",")]) : undefined;

const FILE = "stub.py";
const STUB = "running_max"; // a stub without a plan: Implement, Cancel and the tree run on it
const STUB_BODY_LINE = 10; // its `...` (1-based)
const PLANNED_BODY_LINE = 15; // count_vowels: a stub whose body is plan comments
const MISSING_SERVER = "/nonexistent/o1coder";

const TITLES = {
  plan: "Plan in pseudocode",
  refine: "Refine pseudocode",
  implement: "Implement with search",
  tests: "Generate tests",
};

const started = Date.now();
const results = [];
const notes = [];
let shots = 0;
let browser;
let page;

function log(line) {
  const stamp = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[e2e ${stamp}s] ${line}`);
}

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something truthy; `what` names it when the step times out. */
async function until(what, probe, { interval = 250, timeout = 600_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`waited ${Math.round(timeout / 1000)} s for ${what}`);
    }
    await sleep(interval);
  }
}

async function screenshot(name, options = {}, target = page) {
  shots += 1;
  const file = path.join(ARTIFACTS, `${String(shots).padStart(2, "0")}-${name}.png`);
  try {
    await target.screenshot({ path: file, ...options });
  } catch (error) {
    log(`screenshot ${name} failed: ${error.message}`);
  }
  return file;
}

/** Runs one step: a failure or a hang (past `seconds`) names the step; a screenshot either way. */
async function step(name, seconds, body) {
  if (ONLY && !ONLY.has(name)) {
    results.push({ step: name, ok: true, seconds: 0, detail: "skipped (E2E_ONLY)" });
    return;
  }
  const t0 = Date.now();
  log(`step ${name}`);
  let timer;
  const hung = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`step "${name}" hung: not done after ${seconds} s`)), seconds * 1000);
  });
  try {
    const detail = await Promise.race([body(), hung]);
    const took = (Date.now() - t0) / 1000;
    results.push({ step: name, ok: true, seconds: took, detail: detail ?? "" });
    log(`step ${name}: ok in ${took.toFixed(1)} s${detail ? ` (${detail})` : ""}`);
    await screenshot(name);
  } catch (error) {
    const took = (Date.now() - t0) / 1000;
    results.push({ step: name, ok: false, seconds: took, error: error.message });
    log(`step ${name}: FAILED after ${took.toFixed(1)} s: ${error.message}`);
    await screenshot(`${name}-FAILED`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

// ---- VS Code's DOM (1.100): the hooks are listed in README's e2e section -----------------------

/** The notifications now on screen: message, severity, buttons, and the progress' title. */
async function toasts() {
  return page.$$eval(".notifications-toasts .notification-toast", (nodes) =>
    nodes
      .filter((node) => node.offsetParent !== null)
      .map((node) => {
        const icon = node.querySelector(".notification-list-item-icon");
        // a progress notification is an "info" one with a progress bar; work's outcome is not
        const severity = ["error", "warning", "info"].find((kind) => icon?.classList.contains(`codicon-${kind}`)) ?? "none";
        return {
          message: node.querySelector(".notification-list-item-message")?.textContent?.trim() ?? "",
          severity,
          buttons: [...node.querySelectorAll(".notification-list-item-buttons-container .monaco-button")].map((b) =>
            b.textContent.trim(),
          ),
          text: node.innerText.replace(/\s+/g, " ").trim(),
        };
      }),
  );
}

async function clearNotifications() {
  await runCommand("Notifications: Clear All Notifications");
  await until("the notifications to close", async () => (await toasts()).length === 0, { timeout: 10_000 }).catch(() => {});
}

/** The active editor's text, as far as it is rendered (the test file fits the window). */
async function editorText() {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll(".editor-group-container.active .editor-instance .monaco-editor .view-lines .view-line")];
    lines.sort((a, b) => Number.parseFloat(a.style.top) - Number.parseFloat(b.style.top));
    return lines.map((line) => line.textContent.replace(/\u00a0/g, " ").replace(/\s+$/, "")).join("\n");
  });
}

async function dirtyTabs() {
  return page.locator(".tabs-container .tab.dirty").count();
}

async function runCommand(title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: 15_000 });
  await input.fill(`>${title}`);
  // Enter runs the focused (first) row: wait until it is this command
  const row = page.locator(".quick-input-widget .monaco-list-row.focused", { hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: 15_000 });
  await input.press("Enter");
}

async function focusEditor() {
  await page.locator(".editor-group-container.active .editor-instance .monaco-editor .view-lines").first().click({ position: { x: 400, y: 5 } });
}

/** Puts the cursor at the end of 1-based `line` (VS Code's Go to Line: `line:column`). */
async function gotoLine(line) {
  await focusEditor();
  await page.keyboard.press("Control+G");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: 15_000 });
  await input.fill(`:${line}`);
  await input.press("Enter");
  await page.keyboard.press("End");
}

/** The code actions (Ctrl+.) at the end of `line`: their titles, the menu left open. */
async function codeActions(line) {
  for (let attempt = 1; ; attempt++) {
    await gotoLine(line);
    await page.keyboard.press("Control+.");
    const rows = page.locator(".action-widget .monaco-list-row");
    try {
      await rows.first().waitFor({ state: "visible", timeout: 10_000 });
      const titles = await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute("aria-label") ?? n.textContent.trim()));
      if (titles.some((title) => Object.values(TITLES).includes(title)) || attempt >= 6) {
        return titles;
      }
    } catch (error) {
      if (attempt >= 6) {
        throw error;
      }
    }
    await page.keyboard.press("Escape"); // "No code actions available" while the server starts
    await sleep(2000);
  }
}

/** Right-clicks at the cursor; the context menu's entries, the menu left open. */
async function contextMenu() {
  const cursor = page.locator(".editor-group-container.active .editor-instance .monaco-editor .cursor").first();
  const box = await cursor.boundingBox();
  check(box, "no cursor in the editor");
  await page.mouse.click(box.x + 2, box.y + box.height / 2, { button: "right" });
  const menu = page.locator(".context-view .monaco-menu .action-label");
  await menu.first().waitFor({ state: "visible", timeout: 30_000 });
  return (await menu.allInnerTexts()).map((entry) => entry.trim()).filter(Boolean);
}

/** Opens `name` from the Explorer (a click), else Quick Open (Ctrl+P), again until its tab is the
 *  active one: a workbench that is still restoring may drop the first clicks and keystrokes. */
async function openFile(name) {
  const input = page.locator(".quick-input-widget input");
  const tab = page.locator(".tab.active", { hasText: name });
  const inExplorer = page.locator(".explorer-folders-view .monaco-list-row", { hasText: name }).first();
  for (let attempt = 1; ; attempt++) {
    try {
      if (await inExplorer.isVisible()) {
        await inExplorer.click();
      } else {
        await page.keyboard.press("Control+P");
        await input.waitFor({ state: "visible", timeout: 10_000 });
        await input.fill(name);
        await page.locator(".quick-input-widget .monaco-list-row", { hasText: name }).first().waitFor({ timeout: 10_000 });
        await input.press("Enter");
      }
      await tab.waitFor({ state: "visible", timeout: 10_000 });
      return;
    } catch (error) {
      if (attempt >= 6) {
        throw new Error(`could not open ${name}: ${error.message}`);
      }
      await screenshot(`open-${name}-attempt-${attempt}`);
      await page.keyboard.press("Escape");
      await sleep(2000);
    }
  }
}

/**
 * Sets o1coder.server.command as a code-server user does, in "Preferences: Open Remote Settings
 * (JSON)" (a machine-overridable setting), and saves: code-server does not notice a settings file
 * written behind its back.
 */
async function setServerCommand(command) {
  await runCommand("View: Close All Editors");
  await runCommand("Preferences: Open Remote Settings (JSON)");
  await page.locator(".tab.active", { hasText: "settings.json" }).waitFor({ state: "visible", timeout: 30_000 });
  await until("the settings in the editor", async () => (await editorText()).includes("o1coder.server.command"), { timeout: 30_000 });
  await focusEditor();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(JSON.stringify(machineSettings(command))); // one line: no auto-indent
  await page.keyboard.press("Control+S");
  await until("settings.json saved", async () => (await dirtyTabs()) === 0, { timeout: 30_000 });
  const saved = JSON.parse(readFileSync(SETTINGS, "utf8"));
  check(JSON.stringify(saved["o1coder.server.command"]) === JSON.stringify(command), `settings.json was not saved: ${JSON.stringify(saved)}`);
  await runCommand("View: Close All Editors");
}

async function pickCodeAction(line, title) {
  const titles = await codeActions(line);
  check(titles.includes(title), `no "${title}" among the code actions at line ${line}: ${JSON.stringify(titles)}`);
  // keyboard, as a user would: a click on a row is caught by the menu's pointer block
  for (let i = 0; i < 12; i++) {
    const focused = await page.locator(".action-widget .monaco-list-row.focused").getAttribute("aria-label").catch(() => null);
    if (focused === title) {
      await page.keyboard.press("Enter");
      return;
    }
    await page.keyboard.press("ArrowDown");
  }
  throw new Error(`could not move to "${title}" in the code action menu`);
}

/**
 * The progress notification of `title` on the stub and, once it ends, the outcome notification.
 * Records every progress message it sees, with the time it first showed.
 */
async function watchWork(title, { onProgress, timeout = 280_000 } = {}) {
  const seen = [];
  let progress;
  const outcome = await until(`the outcome of ${title}`, async () => {
    const now = await toasts();
    const ended = now.find((t) => t.message.startsWith(`o1-coder: ${title}: `) && /^(applied|not applied)/.test(t.message.slice(`o1-coder: ${title}: `.length)));
    const running = now.find((t) => t !== ended && t.text.includes(title) && t.buttons.includes("Cancel"));
    if (running) {
      if (!progress) {
        progress = running;
        log(`progress: ${running.message}`);
        await onProgress?.(running);
      }
      const last = seen.at(-1);
      if (!last || last.text !== running.message) {
        seen.push({ at: (Date.now() - started) / 1000, text: running.message });
      }
    }
    return ended;
  }, { timeout });
  return { progress, outcome, seen };
}

function saveProgress(name, seen) {
  const lines = seen.map((entry) => `${entry.at.toFixed(1)}s  ${entry.text}`);
  writeFileSync(path.join(ARTIFACTS, `${name}.txt`), `${lines.join("\n")}\n`);
  let gap = 0;
  for (let i = 1; i < seen.length; i++) {
    gap = Math.max(gap, seen[i].at - seen[i - 1].at);
  }
  return { updates: seen.length, longestGap: gap };
}

function functionSource(text, name) {
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.startsWith(`def ${name}(`));
  if (first < 0) {
    return "";
  }
  let last = first + 1;
  while (last < lines.length && !/^\S/.test(lines[last])) {
    last++;
  }
  return lines.slice(first, last).join("\n");
}

function python() {
  const venv = path.join(path.dirname(O1CODER), "python");
  return existsSync(venv) ? venv : "python3";
}

async function o1coderErrors() {
  return (await toasts()).filter((t) => t.severity === "error" && t.message.includes("o1-coder"));
}

/** Exactly one o1-coder error toast, still one after a pause, and it offers what to do. */
async function oneActionableError(context) {
  const first = await until(`an o1-coder error toast (${context})`, async () => (await o1coderErrors())[0], { timeout: 90_000 });
  await sleep(8000); // a second toast (the language client's own, a retry) would show by now
  const errors = await o1coderErrors();
  const all = await toasts();
  check(errors.length === 1, `${errors.length} o1-coder error toasts (${context}), want 1: ${JSON.stringify(all)}`);
  check(first.message.includes(MISSING_SERVER), `the error does not name the missing command: ${first.message}`);
  check(
    first.buttons.includes("Open Settings") && first.buttons.includes("Show Log"),
    `the error offers no way out (buttons ${JSON.stringify(first.buttons)}): ${first.message}`,
  );
  return first;
}

/** The search tree page rendered under `root` (a page or a webview's frame): what it must show. */
async function checkTreePage(root) {
  const title = await root.locator("h1").innerText();
  check(title.includes(STUB), `the page's title does not name ${STUB}: ${title}`);
  const nodes = await root.locator("li.node").count();
  const chosen = await root.locator("li.node.chosen").count();
  check(nodes > 0, "the page shows no tree nodes");
  check(chosen > 0, "the page highlights no chosen path");
  const highlight = await root.locator("li.node.chosen > details > summary").first().evaluate((node) => getComputedStyle(node).backgroundColor);
  check(highlight === "rgb(255, 243, 176)", `the chosen path is not highlighted (background ${highlight})`);
  const open = await root.locator("li.node.chosen > details[open]").count();
  check(open === chosen, `the chosen path is not unfolded (${open} of ${chosen} open)`);
  const answer = await root.locator("pre.answer").innerText();
  check(answer.includes("return"), `the page's answer is not code: ${answer}`);
  const stats = await root.locator("li.node .stat").allInnerTexts();
  check(stats.every((line) => /visits \d+/.test(line) && /value -?\d/.test(line)), `a node without visits and value: ${JSON.stringify(stats)}`);
  const tests = await root.locator("table.tests tr").count();
  check(tests > 0, "the page lists no tests");
  return `${nodes} nodes, ${chosen} on the chosen path, ${tests} tests`;
}

// ---- the steps ---------------------------------------------------------------------------------

async function main() {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  page.on("dialog", (dialog) => {
    log(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  const original = readFileSync(path.join(WORKSPACE, FILE), "utf8");

  await step("workbench", 180, async () => {
    await page.goto(`${BASE_URL}/?folder=${encodeURIComponent(WORKSPACE)}`);
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 170_000 });
    await page.locator(".statusbar").waitFor({ state: "visible", timeout: 60_000 });
    return `VS Code ${await page.evaluate(() => document.title)}`;
  });

  await step("open-stub", 120, async () => {
    await openFile(FILE);
    await until(`${FILE} in the editor`, async () => (await editorText()).includes(`def ${STUB}(`), { timeout: 60_000 });
  });

  await step("activated-status-bar", 240, async () => {
    // activate() creates the status item; the sparkle icon means the language server is running
    const item = page.locator(".statusbar-item", { hasText: "o1-coder" }).first();
    await item.waitFor({ state: "visible", timeout: 120_000 });
    await until("the status item to show a running server", async () => (await item.locator(".codicon-sparkle").count()) > 0, {
      timeout: 220_000,
    });
    const label = (await item.getAttribute("aria-label")) ?? (await item.innerText());
    check(/o1-coder/.test(label), `status item label: ${label}`);
    const errors = await o1coderErrors();
    check(errors.length === 0, `error toasts at start: ${JSON.stringify(errors)}`);
    return `status item "${label.trim()}"`;
  });

  await step("code-actions-stub", 120, async () => {
    const titles = await codeActions(STUB_BODY_LINE);
    await screenshot("code-actions-stub-menu");
    await page.keyboard.press("Escape");
    for (const title of [TITLES.plan, TITLES.implement, TITLES.tests]) {
      check(titles.includes(title), `"${title}" is not offered on the stub ${STUB}: ${JSON.stringify(titles)}`);
    }
    check(!titles.includes(TITLES.refine), `"${TITLES.refine}" is offered on ${STUB}, which has no plan: ${JSON.stringify(titles)}`);
    return titles.join(" | ");
  });

  await step("code-actions-planned", 120, async () => {
    const titles = await codeActions(PLANNED_BODY_LINE);
    await screenshot("code-actions-planned-menu");
    await page.keyboard.press("Escape");
    check(titles.includes(TITLES.refine), `"${TITLES.refine}" is not offered on a stub with a plan: ${JSON.stringify(titles)}`);
    return titles.join(" | ");
  });

  await step("context-menu-stub", 120, async () => {
    // the editor's context menu holds "o1-coder: Actions…": the server's actions at the cursor
    await gotoLine(STUB_BODY_LINE);
    const entries = await contextMenu();
    await screenshot("context-menu-stub-menu");
    check(!entries.includes(TITLES.refine), `"${TITLES.refine}" is in the context menu on ${STUB}: ${JSON.stringify(entries)}`);
    check(!entries.some((entry) => /cancel/i.test(entry)), `the context menu offers a Cancel while nothing runs: ${JSON.stringify(entries)}`);
    const actions = entries.find((entry) => entry.startsWith("o1-coder: Actions"));
    check(actions, `no "o1-coder: Actions…" in the editor's context menu: ${JSON.stringify(entries)}`);
    await page.locator(".context-view .monaco-menu .action-label", { hasText: actions }).click();
    const rows = page.locator(".quick-input-widget .monaco-list-row");
    await rows.first().waitFor({ state: "visible", timeout: 30_000 });
    const picks = (await rows.allInnerTexts()).map((entry) => entry.trim());
    await screenshot("context-menu-stub-actions");
    await page.keyboard.press("Escape");
    check(!picks.includes(TITLES.refine), `"${TITLES.refine}" is among the actions on ${STUB}: ${JSON.stringify(picks)}`);
    check(picks.includes(TITLES.implement), `"${TITLES.implement}" is not among the actions on ${STUB}: ${JSON.stringify(picks)}`);
    return picks.join(" | ");
  });

  await step("cancel", 300, async () => {
    const before = await editorText();
    await pickCodeAction(STUB_BODY_LINE, TITLES.implement);
    const { progress, outcome, seen } = await watchWork(TITLES.implement, {
      onProgress: async (toast) => {
        await screenshot("cancel-progress");
        check(toast.buttons.includes("Cancel"), `the progress notification has no Cancel button: ${toast.text}`);
        await page.locator(".notifications-toasts .notification-toast", { hasText: TITLES.implement }).getByRole("button", { name: "Cancel" }).click();
      },
    });
    saveProgress("cancel-progress", seen);
    check(progress, "no progress notification");
    check(outcome.message.includes("not applied"), `after Cancel: ${outcome.message}`);
    const after = await editorText();
    check(after === before, `Cancel changed the buffer:\n--- before\n${before}\n--- after\n${after}`);
    check((await dirtyTabs()) === 0, "the buffer is dirty after Cancel");
    check(readFileSync(path.join(WORKSPACE, FILE), "utf8") === original, `${FILE} changed on disk after Cancel`);
    return outcome.message;
  });

  await clearNotifications();

  await step("cancel-context-menu", 300, async () => {
    const before = await editorText();
    await pickCodeAction(STUB_BODY_LINE, TITLES.implement);
    const { outcome } = await watchWork(TITLES.implement, {
      onProgress: async () => {
        const entries = await contextMenu();
        await screenshot("cancel-context-menu-menu");
        check(entries.includes("o1-coder: Cancel"), `no "o1-coder: Cancel" in the context menu while Implement runs: ${JSON.stringify(entries)}`);
        await page.locator(".context-view .monaco-menu .action-label", { hasText: "o1-coder: Cancel" }).click();
      },
    });
    check(outcome.message.includes("not applied"), `after o1-coder: Cancel: ${outcome.message}`);
    check((await editorText()) === before, "o1-coder: Cancel changed the buffer");
    check((await dirtyTabs()) === 0, "the buffer is dirty after o1-coder: Cancel");
    return outcome.message;
  });

  await clearNotifications();

  // about 30 s on 2 idle cores; 7.5 min was seen with both cores busy with other work
  await step("implement", 900, async () => {
    await pickCodeAction(STUB_BODY_LINE, TITLES.implement);
    const { progress, outcome, seen } = await watchWork(TITLES.implement, {
      onProgress: () => screenshot("implement-progress"),
      timeout: 880_000,
    });
    const timing = saveProgress("implement-progress", seen);
    notes.push(`Implement: ${timing.updates} distinct progress texts, longest gap between changes ${timing.longestGap.toFixed(1)} s (progress log: implement-progress.txt)`);
    check(progress, "no progress notification");
    const unnamed = seen.filter((entry) => !entry.text.includes(STUB));
    check(unnamed.length === 0, `progress without the function's name ${STUB}: ${JSON.stringify(unnamed.slice(0, 3))}`);
    await screenshot("implement-outcome");
    check(/: applied/.test(outcome.message), `Implement did not apply: ${outcome.message}`);
    const text = await until("the edit in the buffer", async () => {
      const now = await editorText();
      return functionSource(now, STUB).includes("return") ? now : undefined;
    }, { timeout: 30_000 });
    const body = functionSource(text, STUB);
    check(!/^\s+\.\.\.\s*$/m.test(body), `the stub body is still there:\n${body}`);
    await focusEditor();
    await page.keyboard.press("Control+S");
    await until("the save", async () => (await dirtyTabs()) === 0, { timeout: 30_000 });
    const saved = readFileSync(path.join(WORKSPACE, FILE), "utf8");
    writeFileSync(path.join(ARTIFACTS, "implemented-stub.py"), saved);
    check(functionSource(saved, STUB) === body, `the saved file differs from the buffer:\n${functionSource(saved, STUB)}\n---\n${body}`);
    const compiled = spawnSync(python(), ["-m", "py_compile", path.join(WORKSPACE, FILE)], { encoding: "utf8" });
    check(compiled.status === 0, `py_compile failed: ${compiled.stderr}`);
    // informative only: a 0.5B model on a tiny budget may not be right, only compile
    const doctest = spawnSync(python(), ["-m", "doctest", path.join(WORKSPACE, FILE)], { encoding: "utf8", timeout: 30_000 });
    notes.push(`Implement's ${STUB} ${doctest.status === 0 ? "passes" : "fails"} its doctest (not asserted)`);
    return outcome.message;
  });

  await clearNotifications();

  await step("show-search-tree", 150, async () => {
    await runCommand("o1-coder: Show search tree");
    // the extension shows the page the server wrote in a webview beside the editor
    const tab = page.locator(".tab", { hasText: `Search tree: ${STUB}` }).first();
    await tab.waitFor({ state: "visible", timeout: 60_000 });
    const webview = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
    await webview.locator("h1").waitFor({ state: "visible", timeout: 60_000 });
    const shown = await checkTreePage(webview);
    await screenshot("show-search-tree-webview");
    await webview.locator("li.node.chosen").last().scrollIntoViewIfNeeded();
    await screenshot("show-search-tree-webview-chosen");
    // the file itself, as `o1coder solve --tree` users open it: the whole page for the reviewer
    check(existsSync(TREES), `no search tree pages in ${TREES}`);
    const file = readdirSync(TREES)
      .filter((name) => name.endsWith(".html"))
      .map((name) => path.join(TREES, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    check(file, `no search tree page in ${TREES}`);
    const view = await context.newPage();
    try {
      await view.goto(`file://${file}`);
      await checkTreePage(view);
      await screenshot("search-tree-page", { fullPage: true }, view);
    } finally {
      await view.close();
    }
    return `${path.basename(file)}: ${shown}`;
  });

  await clearNotifications();

  await step("missing-server-setting", 150, async () => {
    // the settings now name a command that does not exist: the extension restarts the server
    await setServerCommand([MISSING_SERVER, "serve"]);
    const error = await oneActionableError("after the setting changed");
    const item = page.locator(".statusbar-item", { hasText: "o1-coder" }).first();
    check((await item.locator(".codicon-error").count()) > 0, "the status item does not show the error");
    return error.message;
  });

  await step("missing-server-reload", 240, async () => {
    // a window that starts with the missing server (the extension activates with it)
    await page.reload();
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 170_000 });
    await page.locator(".statusbar").waitFor({ state: "visible", timeout: 60_000 });
    await openFile(FILE); // the extension activates on a Python file
    const error = await oneActionableError("at activation");
    await screenshot("missing-server-reload-error");
    // "Open Settings" leads to the setting to fix, where this window reads it
    await page.locator(".notifications-toasts .notification-toast", { hasText: "cannot start" }).getByRole("button", { name: "Open Settings" }).click();
    const editor = page.locator(".settings-editor");
    await editor.waitFor({ state: "visible", timeout: 30_000 });
    const text = await until("the server settings in the settings editor", async () => {
      const now = (await editor.innerText()).replace(/\s+/g, " ");
      return /Server: Command/.test(now) ? now : undefined;
    }, { timeout: 30_000 }).catch(async () => (await editor.innerText()).replace(/\s+/g, " "));
    check(/Server: Command/.test(text), `"Open Settings" does not show o1coder.server.command: ${text.slice(0, 300)}`);
    return error.message;
  });
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  if (!results.some((result) => !result.ok)) {
    results.push({ step: "setup", ok: false, seconds: 0, error: error.stack ?? String(error) });
  }
} finally {
  await browser?.close().catch(() => {});
}
const lines = results.map((r) => `${r.ok ? "ok  " : "FAIL"} ${r.step.padEnd(24)} ${r.seconds.toFixed(1).padStart(6)} s  ${r.ok ? r.detail : r.error}`);
const summary = [...lines, ...notes.map((note) => `note: ${note}`), `total ${((Date.now() - started) / 1000).toFixed(1)} s`].join("\n");
writeFileSync(path.join(ARTIFACTS, "summary.txt"), `${summary}\n`);
writeFileSync(path.join(ARTIFACTS, "summary.json"), `${JSON.stringify({ results, notes }, null, 2)}\n`);
console.log(`\n${summary}`);
process.exit(failed ? 1 : 0);

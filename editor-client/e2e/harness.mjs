// The frame every end-to-end scenario runs in: its command-line options, a fresh run folder, the .vsix
// installed in code-server, code-server and headless Chromium started, the scenario's steps run, then every
// process it started stopped by pid (also on failure), the logs copied and results.json written to the
// artifacts folder.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { copyLogs, installExtension, prepare, start, writeUserSettings } from "./codeServer.mjs";
import { descendants, stopTree } from "./procs.mjs";
import { launch, until, Workbench } from "./workbench.mjs";

export const CLIENT = path.resolve(import.meta.dirname, "..");
export const REPO = path.dirname(CLIENT);
const CACHE = process.env.MAGICODER_EDITOR_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "magicoder-lsp");

// A quiet workbench: no trust prompt, welcome page, word suggestions (Tab must accept the ghost text)…
export const WORKBENCH_SETTINGS = {
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "editor.quickSuggestions": { other: false, comments: false, strings: false },
  "editor.suggestOnTriggerCharacters": false,
  "editor.wordBasedSuggestions": "off",
  "editor.inlineSuggest.enabled": true,
  "editor.wordWrap": "on",
  "editor.minimap.enabled": false,
  "files.autoSave": "off",
  "git.openRepositoryInParentFolders": "never",
};

/**
 * The options every scenario takes; `name` names its default run and artifacts folders.
 *
 *   --model DIR [--python PY] [--vsix FILE] [--code-server BIN] [--run-dir DIR] [--artifacts DIR]
 *
 * `extra`: a scenario's own options (parseArgs' option definitions).
 */
export function cliOptions(name, extra = {}) {
  const { values } = parseArgs({
    options: {
      ...extra,
      model: { type: "string", default: process.env.MAGICODER_MODEL },
      python: { type: "string", default: path.join(REPO, ".venv", "bin", "python") },
      vsix: { type: "string", default: path.join(CLIENT, "dist", "magicoder-lsp.vsix") },
      "code-server": { type: "string", default: path.join(CACHE, "code-server", "node_modules", ".bin", "code-server") },
      "run-dir": { type: "string", default: path.join(REPO, ".cache", name) },
      artifacts: { type: "string", default: path.join(REPO, ".cache", "artifacts", name) },
    },
  });
  if (!values.model) throw new Error("--model DIR (or $MAGICODER_MODEL) is required");
  return values;
}

/** results.json's object (`initial` plus steps and screenshots) and `step(name, detail)`, which records one. */
export function recorder(initial = {}) {
  const results = { steps: [], screenshots: [], ...initial };
  const step = (name, detail = {}) => {
    const entry = { name, at: Date.now(), ...detail };
    results.steps.push(entry);
    console.log(`e2e: ${name}${Object.keys(detail).length ? ` ${JSON.stringify(detail)}` : ""}`);
  };
  return { results, step };
}

/** Magicoder: Ask… with `instruction` on the first line. */
export async function askWithInstruction(wb, instruction) {
  await wb.goToLine(1);
  await wb.keyboard.press("Shift+End");
  await wb.command("Magicoder: Ask…");
  await wb.answerInputBox(instruction);
}

const dirty = async (wb) => (await wb.page.locator(".tab.active.dirty").count()) > 0;

/**
 * Waits for an answer to reach the file: applied at once, or (an edit that needs confirmation: a truncated
 * answer, or magicoder.previewEdits) shown in the Refactor Preview and applied from there. Saves the file;
 * returns "applied" or "previewed".
 */
export async function answerApplied(wb, shot, name, file) {
  const preview = () => wb.page.locator(".bulk-edit-panel").first().isVisible();
  const how = await until(`${name} to reach the file`, async () => ((await dirty(wb)) ? "applied" : (await preview()) ? "previewed" : ""), 120_000);
  if (how === "previewed") {
    // Changes that need confirmation start unchecked: check the file (all its changes), then apply.
    await shot(`${name}-refactor-preview`);
    await wb.page.locator(".bulk-edit-panel .monaco-list").first().focus();
    await wb.keyboard.press("Home");
    await wb.keyboard.press("Space");
    const checked = wb.page.locator(".bulk-edit-panel input[type=checkbox]:checked");
    await until("the change to be checked in the Refactor Preview", async () => (await checked.count()) > 0, 10_000);
    await wb.page.locator(".bulk-edit-panel .monaco-button", { hasText: "Apply" }).first().focus();
    await wb.keyboard.press("Enter");
    await until(`${name} to be applied from the Refactor Preview`, () => dirty(wb), 30_000);
  }
  await wb.openFile(path.basename(file)); // the keyboard back in the editor
  await shot(`${name}-applied`);
  await wb.save();
  return how;
}

const readIfThere = (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : `(no ${file})`);

/**
 * Runs one scenario in code-server and exits with 0 when it passed.
 *
 * - `setup(dirs)`: before code-server starts (the workspace's files, helper processes, which it starts as
 *   children of this process so that they are stopped with the rest); returns `{ user, machine }`, the
 *   settings added to WORKBENCH_SETTINGS and the remote's Machine settings (see writeUserSettings).
 * - `scenario({ wb, shot, dirs })`: the steps; `shot(name)` saves a screenshot, `shot.file(name)` its path.
 * - `after(dirs)`: once every process is stopped, before results.json is written (also on failure).
 * - `environment(env, dirs)`: changes code-server's environment (which its extension hosts inherit) in place.
 * - `trust`: workspace trust on (the folder opens in Restricted Mode); WORKBENCH_SETTINGS turns it off otherwise.
 */
export async function runE2E({ opt, results, step, setup, scenario, after = () => undefined, environment = () => undefined, trust = false }) {
  const { dirs, env } = prepare(opt["run-dir"]);
  environment(env, dirs);
  fs.rmSync(opt.artifacts, { recursive: true, force: true });
  fs.mkdirSync(opt.artifacts, { recursive: true });

  let context;
  let wb;
  const shot = async (name) => {
    if (wb) await wb.screenshot(shot.file(name));
  };
  shot.file = (name) => {
    const file = path.join(opt.artifacts, `${name}.png`);
    results.screenshots.push(file);
    return file;
  };
  try {
    const settings = await setup(dirs);
    const trustSettings = trust ? { "security.workspace.trust.enabled": true, "security.workspace.trust.startupPrompt": "never" } : {};
    writeUserSettings(dirs, { ...WORKBENCH_SETTINGS, ...trustSettings, ...settings.user }, settings.machine);
    step("install extension", { vsix: opt.vsix });
    installExtension(opt["code-server"], opt.vsix, dirs, env);
    const server = await start(opt["code-server"], dirs, env, path.join(opt.artifacts, "code-server.log"), undefined, { trust });
    step("code-server listening", { url: server.url, pid: server.child.pid });
    context = await launch(dirs.profile);
    const page = context.pages()[0] ?? (await context.newPage());
    const console_ = fs.createWriteStream(path.join(opt.artifacts, "browser-console.log"));
    page.on("console", (message) => console_.write(`${new Date().toISOString()} [${message.type()}] ${message.text()}\n`));
    wb = new Workbench(page);
    await wb.open(server.url, dirs.workspace);
    await scenario({ wb, shot, dirs });
    results.ok = true;
  } catch (error) {
    results.ok = false;
    results.error = String(error?.stack ?? error);
    console.error(`e2e: FAILED: ${results.error}`);
    await shot("99-failure").catch(() => undefined);
    if (wb) results.statusBarAtFailure = await wb.statusBar().catch(() => undefined);
    if (wb) results.notificationsAtFailure = await wb.notifications().catch(() => undefined);
  } finally {
    await context?.close().catch(() => undefined);
    // Chromium, code-server, its extension hosts, the language servers they started and the helpers.
    results.stoppedPids = await stopTree(descendants(process.pid));
    copyLogs(dirs.userData, opt.artifacts);
    try {
      await after(dirs);
    } catch (error) {
      results.ok = false;
      results.error = `${results.error ?? ""}\nafter the scenario: ${String(error?.stack ?? error)}`.trim();
      console.error(`e2e: FAILED after the scenario: ${String(error)}`);
    }
    if (!results.ok) console.error(readIfThere(path.join(opt.artifacts, "Magicoder.log")));
    fs.writeFileSync(path.join(opt.artifacts, "results.json"), JSON.stringify(results, null, 2));
  }
  console.log(`e2e: ${results.ok ? "passed" : "failed"}; artifacts in ${opt.artifacts}`);
  process.exitCode = results.ok ? 0 : 1;
}

// End to end in code-server: the first run from the extension, with a fresh profile and no Magicoder settings but
// magicoder.serverPackage (a wheel built from this checkout). The first-run notification appears (its walkthrough
// opens); Magicoder: Set Up Server is cancelled mid-install (nothing changes, nothing is left), then run to the end
// (a managed environment, magicoder.pythonPath set, the server running and asking for a model); Magicoder: Get
// Model from a local Hugging Face folder (the tiny model's checkpoint) is cancelled mid-export (nothing changes,
// no half-built folder), then run to the end with its progress visible (magicoder.model set, the status bar
// ready); a folder that is not a model is refused with one message; Magicoder: Ask… answers. Screenshots of each step and results.json go to the artifacts folder.
//
//   node e2e/firstrun.mjs --model DIR --hf HF_DIR --server-package WHEEL_OR_FOLDER [--python PY] [--vsix FILE]
//                         [--code-server BIN] [--run-dir DIR] [--artifacts DIR] [--pip-cache DIR]
import * as fs from "node:fs";
import * as path from "node:path";
import { machineSettings, magicoderLog, userSettings } from "./codeServer.mjs";
import { answerApplied, askWithInstruction, cliOptions, recorder, runE2E } from "./harness.mjs";
import { text, until } from "./workbench.mjs";

const SAMPLE = fs.readFileSync(path.join(import.meta.dirname, "sample.py"), "utf8");
const opt = cliOptions("editor-firstrun", {
  hf: { type: "string" },
  "server-package": { type: "string" },
  "pip-cache": { type: "string" },
});
if (!opt.hf || !opt["server-package"]) throw new Error("--hf HF_DIR and --server-package WHEEL_OR_FOLDER are required");
const { results, step } = recorder({ serverPackage: opt["server-package"], hf: opt.hf });

const storage = (dirs) => path.join(dirs.userData, "User", "globalStorage", "magicoder-lsp.magicoder-lsp");
const envsOf = (dirs) => {
  const root = path.join(storage(dirs), "envs");
  return fs.existsSync(root) ? fs.readdirSync(root).sort() : [];
};
const modelsOf = (dirs) => {
  const root = path.join(storage(dirs), "models");
  return fs.existsSync(root) ? fs.readdirSync(root).sort() : [];
};
/** Every magicoder.* setting code-server holds (Machine and User settings, as written on disk). */
function magicoderSettings(dirs) {
  const out = {};
  for (const [level, values] of [["machine", machineSettings(dirs.userData)], ["user", userSettings(dirs.userData)]]) {
    for (const [key, value] of Object.entries(values)) if (key.startsWith("magicoder.")) out[`${level}:${key}`] = value;
  }
  return out;
}
const log = (dirs) => magicoderLog(dirs.userData);

/** The notification toast whose text matches `pattern` (a locator). */
const toast = (wb, pattern) => wb.page.locator(".notifications-toasts .notification-toast").filter({ hasText: pattern }).first();

/** Presses a button of a toast by its label (keyboard: overlays block the pointer). */
async function pressToastButton(wb, pattern, label) {
  const button = toast(wb, pattern).locator(".monaco-button", { hasText: label }).first();
  await button.waitFor({ timeout: 30_000 });
  await button.focus();
  await wb.keyboard.press("Enter");
}

/** Picks the quick pick row whose label contains `label`. */
async function pickRow(wb, label) {
  const rows = wb.page.locator(".quick-input-list .monaco-list-row");
  const focused = wb.page.locator(".quick-input-list .monaco-list-row.focused");
  await until(`the quick pick to list "${label}"`, async () => (await rows.filter({ hasText: label }).count()) > 0, 30_000);
  for (let i = 0; i < 10; i++) {
    if (text(await focused.first().innerText().catch(() => "")).includes(label)) {
      await wb.keyboard.press("Enter");
      return;
    }
    await wb.keyboard.press("ArrowDown");
    await wb.page.waitForTimeout(100);
  }
  throw new Error(`no quick pick row "${label}"`);
}

/** Answers VS Code's folder dialog (code-server's simple file dialog: a path in a quick input) with `folder`. */
async function pickFolder(wb, folder) {
  const input = wb.page.locator(".quick-input-widget input");
  await input.waitFor({ timeout: 30_000 });
  await until("the folder dialog", async () => (await input.inputValue()).startsWith("/"), 10_000);
  await input.fill(folder.endsWith("/") ? folder : `${folder}/`);
  await wb.page.waitForTimeout(800);
  for (let attempt = 0; attempt < 3 && (await input.isVisible()); attempt++) {
    await wb.keyboard.press("Enter");
    await wb.page.waitForTimeout(800);
  }
  if (await input.isVisible()) throw new Error(`the folder dialog did not take ${folder}`);
}

/** The progress notification titled `title`: waits for it, and for `ready(text)`; returns its text. */
async function progressToast(wb, title, ready = () => true, timeoutMs = 120_000) {
  return until(`the notification "${title}"`, async () => {
    const found = toast(wb, title);
    if (!(await found.count())) return undefined;
    const content = text(await found.innerText());
    return ready(content) ? content : undefined;
  }, timeoutMs);
}

// The scenario's steps, in order. Each gets `t`: { wb, shot, dirs }.

/** A fresh profile: one notification says what to do first; its walkthrough opens. */
async function firstNotification(t) {
  const pattern = /language server is not set up/;
  await until("the first-run notification", async () => (await toast(t.wb, pattern).count()) > 0, 60_000);
  results.firstNotification = text(await toast(t.wb, pattern).innerText());
  results.statusBeforeSetup = await until("the status bar to show the next step", () => t.wb.statusItem(/Magicoder: Set Up/), 30_000);
  await t.shot("01-first-run-notification");
  step("first-run notification", { text: results.firstNotification, status: results.statusBeforeSetup });
  await pressToastButton(t.wb, pattern, "Open Walkthrough");
  const walkthrough = t.wb.page.locator(".gettingStartedContainer").filter({ hasText: "Get started with Magicoder" }).first();
  await walkthrough.waitFor({ timeout: 30_000 });
  await t.wb.page.waitForTimeout(1000);
  results.walkthrough = text(await walkthrough.innerText()).slice(0, 2000);
  await t.shot("02-walkthrough");
  step("walkthrough opened");
  if (!/Set up the server/.test(results.walkthrough) || !/Try Ask Magicoder/.test(results.walkthrough)) {
    throw new Error(`the walkthrough lacks its steps: ${results.walkthrough}`);
  }
  await t.wb.keyboard.press("Control+W"); // close the walkthrough
  results.settingsBefore = magicoderSettings(t.dirs);
}

/** Set Up Server, cancelled while pip installs: no pythonPath, no environment folder left. */
async function cancelSetUpServer(t) {
  await t.wb.command("Magicoder: Set Up Server");
  await pickRow(t.wb, "Run the model on this machine");
  const title = /setting up the server/;
  await progressToast(t.wb, title, (content) => /collecting|installing|downloading/.test(content), 120_000);
  await t.shot("03-set-up-server-progress");
  results.envsWhileInstalling = envsOf(t.dirs);
  await pressToastButton(t.wb, title, "Cancel");
  await until("Set Up Server to be cancelled", () => log(t.dirs).includes("Set Up Server: cancelled"), 60_000);
  await t.shot("04-set-up-server-cancelled");
  const after = { settings: magicoderSettings(t.dirs), envs: envsOf(t.dirs) };
  step("Set Up Server cancelled", { whileInstalling: results.envsWhileInstalling, after });
  if (!results.envsWhileInstalling.length) throw new Error("no environment folder was being built when Cancel was pressed");
  if (after.envs.length) throw new Error(`a cancelled setup left ${JSON.stringify(after.envs)}`);
  if (JSON.stringify(after.settings) !== JSON.stringify(results.settingsBefore)) {
    throw new Error(`a cancelled setup changed the settings: ${JSON.stringify(after.settings)}`);
  }
}

/** Set Up Server to the end: magicoder.pythonPath in the managed environment, the server running, asking for a model. */
async function setUpServer(t) {
  const t0 = Date.now();
  await t.wb.command("Magicoder: Set Up Server");
  await pickRow(t.wb, "Run the model on this machine");
  await until("the server to be set up", () => log(t.dirs).includes("magicoder.pythonPath is now"), 240_000);
  results.status = await until("the status bar to ask for a model", () => t.wb.statusItem(/Magicoder: Get Model/), 120_000);
  results.setupSeconds = (Date.now() - t0) / 1000;
  const settings = magicoderSettings(t.dirs);
  results.settingsAfterSetup = settings;
  results.envsAfterSetup = envsOf(t.dirs);
  const python = settings["machine:magicoder.pythonPath"] ?? settings["user:magicoder.pythonPath"];
  step("Set Up Server done", { seconds: results.setupSeconds, python, status: results.status, envs: results.envsAfterSetup });
  if (!python || !python.startsWith(path.join(storage(t.dirs), "envs"))) throw new Error(`magicoder.pythonPath is not the managed environment: ${python}`);
  if (results.envsAfterSetup.length !== 1) throw new Error(`environments: ${JSON.stringify(results.envsAfterSetup)}`);
  const record = JSON.parse(fs.readFileSync(path.join(storage(t.dirs), "envs", results.envsAfterSetup[0], "magicoder-env.json"), "utf8"));
  results.envRecord = record;
  if (!record.spec.endsWith("[cpu]")) throw new Error(`the environment has ${record.spec}, not the [cpu] runtime of a machine without NVIDIA`);
  const pattern = /Next, get the model/;
  await until("the next step's notification", async () => (await toast(t.wb, pattern).count()) > 0, 30_000);
  results.modelNotification = text(await toast(t.wb, pattern).innerText());
  await t.shot("05-server-set-up-next-get-model");
  if (log(t.dirs).includes("[error] Magicoder: no model folder")) throw new Error("the missing model was shown as an error, besides the first-run notification");
}

/** Get Model from a Hugging Face folder, cancelled mid-export: no model set, no new environment, no half-built folder. */
async function cancelGetModel(t) {
  const before = { settings: magicoderSettings(t.dirs), envs: envsOf(t.dirs) };
  await t.wb.command("Magicoder: Get Model");
  await pickRow(t.wb, "A Hugging Face model folder on this machine");
  await pickFolder(t.wb, opt.hf);
  const title = /getting the model/;
  await progressToast(t.wb, title, (content) => /installing|collecting/.test(content), 120_000);
  await t.shot("06-get-model-installing-the-exporter");
  // A step of the conversion (its .NAME.partial folder exists by then).
  const content = await progressToast(t.wb, title, (c) => /converting to ONNX: /.test(c), 300_000);
  results.modelsWhileExporting = modelsOf(t.dirs);
  await t.shot("07-get-model-converting");
  await pressToastButton(t.wb, title, "Cancel");
  await until("Get Model to be cancelled", () => log(t.dirs).includes("Get Model: cancelled"), 120_000);
  await t.wb.page.waitForTimeout(500);
  await t.shot("08-get-model-cancelled");
  const after = { settings: magicoderSettings(t.dirs), envs: envsOf(t.dirs), models: modelsOf(t.dirs) };
  step("Get Model cancelled", { progress: content, whileExporting: results.modelsWhileExporting, after });
  if (JSON.stringify(after.settings) !== JSON.stringify(before.settings)) throw new Error(`a cancelled Get Model changed the settings: ${JSON.stringify(after.settings)}`);
  if (JSON.stringify(after.envs) !== JSON.stringify(before.envs)) throw new Error(`a cancelled Get Model left environments: ${JSON.stringify(after.envs)}`);
  if (after.models.length) throw new Error(`a cancelled Get Model left ${JSON.stringify(after.models)}`);
}

/** Get Model to the end: the phases in the notification, magicoder.model set, the status bar ready. */
async function getModel(t) {
  const t0 = Date.now();
  await t.wb.command("Magicoder: Get Model");
  // The Hub model's figures for this machine, from the exporter's preflight, before anything starts.
  const list = t.wb.page.locator(".quick-input-list");
  results.hubFigures = await until("the Hub model's figures", async () => {
    const rows = text(await list.innerText().catch(() => ""));
    return /int4 for CPU[\s\S]*downloads 13\.5 GB, then .* GiB RAM \(.* available\)/.test(rows) ? rows : undefined;
  }, 60_000);
  await t.shot("09-get-model-sources");
  step("Get Model sources", { rows: results.hubFigures });
  await pickRow(t.wb, "A Hugging Face model folder on this machine");
  await pickFolder(t.wb, opt.hf);
  const title = /getting the model/;
  results.progressSeen = [];
  const watch = setInterval(async () => {
    const found = toast(t.wb, title);
    const content = (await found.count().catch(() => 0)) ? text(await found.innerText().catch(() => "")) : "";
    const line = content.split("\n").find((l) => /installing|collecting|downloading|checking|converting|reading|finishing|done/.test(l));
    if (line && results.progressSeen.at(-1) !== line) results.progressSeen.push(line);
  }, 250);
  try {
    await progressToast(t.wb, title, (c) => /checking the export/.test(c), 300_000);
    await t.shot("10-get-model-parity-gate");
    await until("the model to be ready", () => log(t.dirs).includes("magicoder.model is now"), 300_000);
  } finally {
    clearInterval(watch);
  }
  results.statusReady = await until("the status bar to show the loaded model", () => t.wb.statusItem(/Magicoder CPU/), 120_000);
  results.getModelSeconds = (Date.now() - t0) / 1000;
  const settings = magicoderSettings(t.dirs);
  results.settingsAfterGetModel = settings;
  const model = settings["machine:magicoder.model"] ?? settings["user:magicoder.model"];
  results.model = model;
  results.envsAfterGetModel = envsOf(t.dirs);
  await t.shot("11-model-ready");
  step("Get Model done", { seconds: results.getModelSeconds, model, progress: results.progressSeen, status: results.statusReady, envs: results.envsAfterGetModel });
  if (!model || !fs.existsSync(path.join(model, "manifest.json"))) throw new Error(`magicoder.model is not an exported folder: ${model}`);
  if (!["converting to ONNX", "checking the export"].every((p) => results.progressSeen.some((l) => l.includes(p)))) {
    throw new Error(`the export's phases were not shown: ${JSON.stringify(results.progressSeen)}`);
  }
  // The environment with the exporter replaced the first one (which is removed).
  if (results.envsAfterGetModel.length !== 1 || results.envsAfterGetModel[0] === results.envsAfterSetup[0]) {
    throw new Error(`environments after Get Model: ${JSON.stringify(results.envsAfterGetModel)}`);
  }
}

/** Get Model with a folder that is not a model: one message naming what to do; magicoder.model unchanged. */
async function badModelFolder(t) {
  const before = magicoderSettings(t.dirs);
  const bad = path.join(t.dirs.run, "not-a-model");
  fs.mkdirSync(bad, { recursive: true });
  fs.writeFileSync(path.join(bad, "model.onnx"), "not a graph");
  await t.wb.command("Magicoder: Get Model");
  await pickRow(t.wb, "A model folder exported before");
  await pickFolder(t.wb, bad);
  const pattern = /The check of .*not-a-model failed/;
  await until("the error message", async () => (await toast(t.wb, pattern).count()) > 0, 120_000);
  results.badFolderMessage = text(await toast(t.wb, pattern).innerText());
  await t.shot("12-bad-model-folder");
  step("a folder that is not a model", { message: results.badFolderMessage });
  if (!/not an ONNX model/.test(results.badFolderMessage) || !/Pick the folder that holds model\.onnx/.test(results.badFolderMessage)) {
    throw new Error(`the message does not say what is wrong and what to do: ${results.badFolderMessage}`);
  }
  if (JSON.stringify(magicoderSettings(t.dirs)) !== JSON.stringify(before)) throw new Error("a failed check changed the settings");
  await t.wb.keyboard.press("Escape");
}

/** Magicoder: Ask… on the sample answers with the exported model: the file changes. */
async function ask(t) {
  await t.wb.openFile("sample.py");
  await askWithInstruction(t.wb, "add type hints");
  const file = path.join(t.dirs.workspace, "sample.py");
  results.askedHow = await answerApplied(t.wb, t.shot, "13-ask", file);
  const answered = await until("the answer's log line", () => log(t.dirs).split("\n").find((l) => l.includes("[info] Ask Magicoder: {")), 30_000);
  results.ask = JSON.parse(answered.slice(answered.indexOf("{")));
  results.afterAsk = fs.readFileSync(file, "utf8");
  step("Magicoder: Ask… answered", { how: results.askedHow, result: results.ask });
  if (!results.ask.applied || results.afterAsk === SAMPLE) throw new Error(`the answer was not applied: ${answered}`);
  // Expected errors: the server's missing model (before Get Model) and the folder that is not a model.
  const expected = /no model folder is configured|not-a-model/;
  const errors = log(t.dirs).split("\n").filter((l) => l.includes("[error]") && !expected.test(l));
  results.errors = errors;
  if (errors.length) throw new Error(`errors in the Magicoder log:\n${errors.join("\n")}`);
}

const STEPS = [firstNotification, cancelSetUpServer, setUpServer, cancelGetModel, getModel, badModelFolder, ask];

await runE2E({
  opt,
  results,
  step,
  setup: (dirs) => {
    fs.writeFileSync(path.join(dirs.workspace, "sample.py"), SAMPLE);
    // A fresh profile: nothing of Magicoder's but where Set Up Server gets the package from.
    return { machine: { "magicoder.serverPackage": opt["server-package"] } };
  },
  environment: (env) => {
    delete env.MAGICODER_MODEL; // the server would read it: the profile must have no model
    if (opt["pip-cache"]) env.PIP_CACHE_DIR = opt["pip-cache"]; // downloads kept between runs
  },
  scenario: async (t) => {
    for (const run of STEPS) await run(t);
  },
});

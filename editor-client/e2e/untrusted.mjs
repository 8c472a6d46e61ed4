// End to end in code-server with workspace trust on: an untrusted folder (Restricted Mode) whose
// .vscode/settings.json names a script in the folder as magicoder.pythonPath (and a package, a model and a
// tokenizer of its own). The extension still serves — with the user's interpreter and model — and the folder's
// script never runs, not even once the folder is trusted (magicoder.pythonPath is a machine setting: a folder
// cannot set it). Screenshots and results.json go to the artifacts folder.
//
//   node e2e/untrusted.mjs --model DIR [--python PY] [--vsix FILE] [--code-server BIN] [--run-dir DIR] [--artifacts DIR]
import * as fs from "node:fs";
import * as path from "node:path";
import { magicoderLog } from "./codeServer.mjs";
import { answerApplied, askWithInstruction, cliOptions, recorder, runE2E } from "./harness.mjs";
import { until } from "./workbench.mjs";

const SAMPLE = fs.readFileSync(path.join(import.meta.dirname, "sample.py"), "utf8");
const opt = cliOptions("editor-untrusted");
const { results, step } = recorder({ python: opt.python, model: opt.model });
let marker; // the file the folder's script would create

function setup(dirs) {
  fs.writeFileSync(path.join(dirs.workspace, "sample.py"), SAMPLE);
  marker = path.join(dirs.run, "the-folders-script-ran");
  const evil = path.join(dirs.workspace, "tools");
  fs.mkdirSync(evil);
  // A "Python" that records that it ran, then behaves (so that nothing else would give it away).
  fs.writeFileSync(path.join(evil, "python"), `#!/bin/sh\necho "$0 $*" >> '${marker}'\nexec '${opt.python}' "$@"\n`, { mode: 0o755 });
  const folderSettings = {
    "magicoder.pythonPath": "${workspaceFolder}/tools/python",
    "magicoder.serverPackage": "${workspaceFolder}/tools",
    "magicoder.model": "${workspaceFolder}/models/theirs",
    "magicoder.tokenizer": "${workspaceFolder}/tools/tokenizer.json",
  };
  fs.mkdirSync(path.join(dirs.workspace, ".vscode"));
  fs.writeFileSync(path.join(dirs.workspace, ".vscode", "settings.json"), JSON.stringify(folderSettings, null, 2));
  results.folderSettings = folderSettings;
  results.marker = marker;
  return { machine: { "magicoder.pythonPath": opt.python, "magicoder.model": opt.model } };
}

const log = (t) => magicoderLog(t.dirs.userData);

/** Restricted Mode, and the server started with the user's interpreter, from the home folder, on the user's model. */
async function servesInRestrictedMode(t) {
  const restricted = await until("Restricted Mode", () => t.wb.statusItem(/Restricted Mode/), 60_000);
  const ready = await until("the server to load the user's model", () => t.wb.statusItem(/Magicoder CPU/), 120_000);
  results.status = ready;
  results.tooltip = await t.wb.statusTooltip(/Magicoder CPU/);
  const started = log(t).split("\n").find((l) => l.includes("starting the server:"));
  results.started = started;
  await t.shot("01-restricted-mode-serving");
  step("serving in Restricted Mode", { restricted, status: ready, started });
  if (!started?.includes(`starting the server: ${opt.python} -m lsp_server`)) throw new Error(`the server was not started with the user's interpreter: ${started}`);
  if (!log(t).includes("Restricted Mode: the server runs from your home folder")) throw new Error("the server was not kept out of the untrusted folder");
  if (!results.tooltip.includes(`Model: ${JSON.parse(fs.readFileSync(path.join(opt.model, "manifest.json"), "utf8")).name}`)) {
    throw new Error(`the status bar does not name the user's model: ${results.tooltip}`);
  }
}

/** Magicoder: Ask… still answers in the untrusted folder. */
async function askAnswers(t) {
  await t.wb.openFile("sample.py");
  await askWithInstruction(t.wb, "add type hints");
  const file = path.join(t.dirs.workspace, "sample.py");
  results.askedHow = await answerApplied(t.wb, t.shot, "02-ask", file);
  results.afterAsk = fs.readFileSync(file, "utf8");
  step("Magicoder: Ask… answered", { how: results.askedHow });
  if (results.afterAsk === SAMPLE) throw new Error("the answer did not change the file");
}

/** Restart Server reads the settings again: still the user's interpreter; the folder's script never ran. */
async function scriptNeverRuns(t) {
  await t.wb.command("Magicoder: Restart Server");
  await until("the server to restart", () => log(t).split("starting the server:").length - 1 === 2, 60_000);
  await until("the restarted server to be ready", () => t.wb.statusItem(/Magicoder CPU/), 120_000);
  const starts = log(t).split("\n").filter((l) => l.includes("starting the server:"));
  results.starts = starts;
  step("restarted", { starts });
  if (starts.some((l) => l.includes("/tools/python"))) throw new Error(`the folder's interpreter was started: ${starts.join("\n")}`);
  await t.shot("03-restarted");
}

/** Trusting the folder restarts the server: still with the user's interpreter (a folder cannot name it at all). */
async function trustedFolderCannotNameTheInterpreter(t) {
  await t.wb.command("Workspaces: Manage Workspace Trust");
  const trust = t.wb.page.locator(".workspace-trust-editor .monaco-button", { hasText: /^Trust/ }).first();
  await trust.waitFor({ timeout: 30_000 });
  await t.shot("04-manage-trust");
  await trust.focus();
  await t.wb.keyboard.press("Enter");
  await until("Restricted Mode to end", async () => !(await t.wb.statusItem(/Restricted Mode/)), 30_000);
  await until("the server to restart once trusted", () => log(t).split("starting the server:").length - 1 === 3, 60_000);
  const starts = log(t).split("\n").filter((l) => l.includes("starting the server:"));
  results.startsTrusted = starts;
  await t.wb.page.waitForTimeout(2000);
  await t.shot("05-trusted");
  step("trusted and restarted", { last: starts.at(-1) });
  if (!starts.at(-1).includes(`starting the server: ${opt.python} -m lsp_server`)) throw new Error(`a trusted folder chose the interpreter: ${starts.at(-1)}`);
}

await runE2E({
  opt,
  results,
  step,
  trust: true,
  setup,
  scenario: async (t) => {
    for (const run of [servesInRestrictedMode, askAnswers, scriptNeverRuns, trustedFolderCannotNameTheInterpreter]) await run(t);
  },
  after: () => {
    results.scriptRan = fs.existsSync(marker) ? fs.readFileSync(marker, "utf8") : null;
    if (results.scriptRan !== null) throw new Error(`the folder's script ran: ${results.scriptRan}`);
  },
});

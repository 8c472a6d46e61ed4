// End to end in a real VS Code (code-server + headless Chromium): install the .vsix, Ask Magicoder
// from the lightbulb, Magicoder: Ask… with an instruction, accept ghost text with Tab, check the status
// bar, cancel an answer, type above the selection while an answer streams; screenshots and results.json
// go to the artifacts folder. Every process it starts is stopped by pid at the end, also on failure.
//
//   node e2e/run.mjs --model DIR [--python PY] [--vsix FILE] [--code-server BIN] [--run-dir DIR] [--artifacts DIR]
import * as fs from "node:fs";
import * as path from "node:path";
import { magicoderLog } from "./codeServer.mjs";
import { answerApplied, askWithInstruction, cliOptions, recorder, runE2E } from "./harness.mjs";
import { until } from "./workbench.mjs";

const SAMPLE = fs.readFileSync(path.join(import.meta.dirname, "sample.py"), "utf8");
// The commented function: lines 4-9 (1-based), selected as (3,0)-(9,0).
const ASK_LINES = { first: 4, count: 6 };
const INSTRUCTION = "add type hints";
const ACTION = "Ask Magicoder: return the sum of the squares of xs";
const TYPED = "    result = ";
const TYPED_ABOVE = "# typed while Magicoder answered";

const opt = cliOptions("editor-e2e");
const { results, step } = recorder({ sample: SAMPLE, typed: TYPED, instruction: INSTRUCTION, typedAbove: TYPED_ABOVE });

const starts = (userData) => magicoderLog(userData).split("starting the server:").length - 1;

const dirty = async (wb) => (await wb.page.locator(".tab.active.dirty").count()) > 0;

/** The last `Ask Magicoder: {...}` result the extension logged. */
function lastAskResult(userData) {
  const lines = magicoderLog(userData).split("\n").filter((l) => l.includes("[info] Ask Magicoder: {"));
  return lines.length ? JSON.parse(lines.at(-1).slice(lines.at(-1).indexOf("{"))) : undefined;
}

// The scenario's steps, in order. Each gets `t`: { wb, file, shot, dirs, read() }.

async function serverReady(t) {
  const t0 = Date.now();
  const ready = await until("the Magicoder status bar item to show the loaded model", () => t.wb.statusItem(/Magicoder CPU/), 120_000);
  step("server ready", { status: ready, seconds: (Date.now() - t0) / 1000 });
  await t.wb.openFile(path.basename(t.file));
  await t.shot("01-opened");
}

/** Ask Magicoder from the lightbulb on the selected, commented function. */
async function askFromLightbulb(t) {
  await t.wb.goToLine(ASK_LINES.first);
  for (let i = 0; i < ASK_LINES.count; i++) await t.wb.keyboard.press("Shift+ArrowDown");
  const picked = await t.wb.codeAction(ACTION, () => t.shot("02-lightbulb-menu"));
  step("code action picked", { title: picked });
  await t.wb.page.waitForTimeout(150);
  await t.shot("03-asking");
  const how = await answerApplied(t.wb, t.shot, "04-ask", t.file);
  results.afterAsk = t.read();
  if (results.afterAsk === SAMPLE) throw new Error("Ask Magicoder left the file unchanged");
  step("Ask Magicoder applied", { how, changedChars: results.afterAsk.length - SAMPLE.length });
}

/** Magicoder: Ask… with a free-text instruction on the first line (import json). */
async function askWithAnInstruction(t) {
  await askWithInstruction(t.wb, INSTRUCTION);
  const how = await answerApplied(t.wb, t.shot, "05-ask-instruction", t.file);
  results.afterInstruction = t.read();
  step("Magicoder: Ask… applied", { how, changedChars: results.afterInstruction.length - results.afterAsk.length });
}

/** Ghost text at the end of the file, accepted with Tab. */
async function acceptGhostText(t) {
  await t.wb.keyboard.press("Control+End");
  await t.wb.keyboard.type(TYPED);
  const ghost = await until("ghost text", () => t.wb.ghostText(), 60_000);
  await t.shot("06-ghost-text");
  step("ghost text shown", { ghost });
  results.ghost = ghost;
  await t.wb.keyboard.press("Tab");
  await until("the ghost text to be accepted", async () => !(await t.wb.ghostText()), 10_000);
  await t.wb.save();
  results.afterTab = t.read();
  await t.shot("07-ghost-text-accepted");
  const beforeTab = results.afterInstruction + TYPED;
  if (!results.afterTab.startsWith(beforeTab) || results.afterTab.length <= beforeTab.length) {
    throw new Error(`Tab did not insert the ghost text: ${JSON.stringify(results.afterTab.slice(beforeTab.length - 40))}`);
  }
  step("ghost text accepted", { inserted: results.afterTab.slice(beforeTab.length) });
}

/** The status bar after the answers. */
async function statusBar(t) {
  results.status = await t.wb.statusItem(/Magicoder/);
  step("status bar", { text: results.status });
  await t.wb.page.locator(".statusbar").screenshot({ path: t.shot.file("08-status-bar") });
}

/** Toggle Inline Completions: applied by the client at once (no restart), shown in the status bar. */
async function toggleInlineCompletions(t) {
  const slashed = async () => (await t.wb.page.locator(".statusbar .statusbar-item .codicon-circle-slash").count()) > 0;
  await t.wb.command("Magicoder: Toggle Inline Completions");
  await until("the status bar to show inline completions off", slashed);
  await t.wb.command("Magicoder: Toggle Inline Completions");
  await until("the status bar to show inline completions on", async () => !(await slashed()));
  if (starts(t.dirs.userData) !== 1) throw new Error(`toggling inline completions restarted the server:\n${magicoderLog(t.dirs.userData)}`);
  step("inline completions toggled off and on");
}

async function restartServer(t) {
  await t.wb.command("Magicoder: Restart Server");
  await until("the server to restart", () => starts(t.dirs.userData) === 2, 30_000);
  await until("the restarted server to be ready", () => t.wb.statusItem(/Magicoder CPU/), 60_000);
  step("restarted by the command");
}

/** A setting changed in the Settings editor reaches the running server (no restart). */
async function setMaxNewTokens(t, value) {
  await t.wb.setSetting("magicoder.maxNewTokens", String(value));
  await until("the setting to be sent to the server", () => magicoderLog(t.dirs.userData).includes(`sent to the server (maxNewTokens=${value})`), 30_000);
}

/** The next answer after maxNewTokens 64 is at most 64 tokens. */
async function settingAppliedLive(t) {
  await setMaxNewTokens(t, 64);
  await t.shot("09-settings-changed");
  await t.wb.openFile(path.basename(t.file)); // back from the Settings editor
  await askWithInstruction(t.wb, "make it shorter");
  await answerApplied(t.wb, t.shot, "10-ask-64-tokens", t.file);
  const last = await until("the answer's log line", () => lastAskResult(t.dirs.userData)?.tokens <= 64 && lastAskResult(t.dirs.userData), 30_000);
  if (starts(t.dirs.userData) !== 2) throw new Error(`a settings change restarted the server:\n${magicoderLog(t.dirs.userData)}`);
  step("settings change applied live", { answer: last });
}

/** Cancel from the progress notification stops a long answer; the file stays as it was. */
async function cancelFromProgress(t) {
  await setMaxNewTokens(t, 3000);
  await t.wb.openFile(path.basename(t.file));
  const before = t.read();
  await askWithInstruction(t.wb, "rewrite everything");
  const cancel = t.wb.page.locator(".notification-toast .monaco-button", { hasText: "Cancel" }).first();
  await cancel.waitFor({ timeout: 30_000 });
  await t.shot("11-cancellable-progress");
  await cancel.focus();
  await t.wb.keyboard.press("Enter");
  await until("Ask Magicoder to be cancelled", () => magicoderLog(t.dirs.userData).includes("Ask Magicoder: cancelled"), 30_000);
  await t.wb.page.waitForTimeout(1000);
  if ((await dirty(t.wb)) || t.read() !== before) throw new Error("a cancelled Ask changed the file");
  step("Ask cancelled from the progress notification");
}

/**
 * A line typed at the top of the file while Ask Magicoder answers (the same long answer as the one cancelled
 * above: maxNewTokens is still 3000): the answer replaces the selected line where it is now, below the new one.
 */
async function typeAboveWhileAnswering(t) {
  const before = t.read();
  await askWithInstruction(t.wb, "rewrite everything"); // line 1
  const cancel = t.wb.page.locator(".notification-toast .monaco-button", { hasText: "Cancel" }).first();
  await cancel.waitFor({ timeout: 30_000 });
  // The server's progress replaces the extension's "asking…": the answer is generating.
  const generating = async () => (await t.wb.notifications()).some((n) => n.includes("Cancel") && !n.includes("asking…"));
  await until("the answer to stream into the progress notification", generating, 30_000);
  await t.wb.keyboard.press("Control+Home");
  await t.wb.keyboard.press("Enter");
  await t.wb.keyboard.press("ArrowUp");
  await t.wb.keyboard.type(TYPED_ABOVE);
  await t.shot("12-typed-while-answering");
  await t.wb.save(); // the answer, still to come, then makes the file dirty again
  const how = await answerApplied(t.wb, t.shot, "13-answer-below-the-typed-line", t.file);
  const answer = await until("the answer's log line", () => lastAskResult(t.dirs.userData)?.rebased && lastAskResult(t.dirs.userData), 30_000);
  results.beforeRebase = before;
  results.afterRebase = t.read();
  const rest = before.slice(before.indexOf("\n")); // from the end of line 1
  const after = results.afterRebase;
  if (!after.startsWith(`${TYPED_ABOVE}\n`) || !after.endsWith(rest) || after === `${TYPED_ABOVE}\n${before}`) {
    throw new Error(`the answer did not replace line 1 below the typed line: ${JSON.stringify(after.slice(0, 200))}`);
  }
  step("answer applied below a line typed meanwhile", { how, answer });
}

/** No errors in the extension's log; Magicoder: Show Logs opens it. */
async function logs(t) {
  const errors = magicoderLog(t.dirs.userData).split("\n").filter((line) => line.includes("[error]"));
  if (errors.length) throw new Error(`errors in the Magicoder log:\n${errors.join("\n")}`);
  await t.wb.command("Magicoder: Show Logs");
  await t.wb.page.waitForTimeout(1000);
  await t.shot("14-logs");
}

const STEPS = [
  serverReady, askFromLightbulb, askWithAnInstruction, acceptGhostText, statusBar, toggleInlineCompletions,
  restartServer, settingAppliedLive, cancelFromProgress, typeAboveWhileAnswering, logs,
];

const file = (dirs) => path.join(dirs.workspace, "sample.py");

await runE2E({
  opt,
  results,
  step,
  setup: (dirs) => {
    fs.writeFileSync(file(dirs), SAMPLE);
    return { machine: { "magicoder.pythonPath": opt.python, "magicoder.model": opt.model } };
  },
  scenario: async ({ wb, shot, dirs }) => {
    const t = { wb, file: file(dirs), shot, dirs, read: () => fs.readFileSync(file(dirs), "utf8") };
    for (const run of STEPS) await run(t);
  },
});

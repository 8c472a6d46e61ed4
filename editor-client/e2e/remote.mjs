// End to end in code-server: a folder whose .vscode/settings.json names another inference server does not
// change where requests go. Two scripted OpenAI-compatible servers run (tests/helpers/openai_fake.py): A,
// the user's (magicoder.backend openai and magicoder.endpoint in the user's settings, its API key set with
// Magicoder: Set API Key), and B, the one the opened folder's settings name (with allowInsecure and a
// caBundle of its own). The workspace is trusted (trust is disabled). Ghost text and Magicoder: Ask… must
// reach A with A's key, B must get no request at all, and the status bar tooltip must name A.
//
//   node e2e/remote.mjs --model DIR [--python PY] [--vsix FILE] [--code-server BIN] [--run-dir DIR] [--artifacts DIR]
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { magicoderLog } from "./codeServer.mjs";
import { askWithInstruction, cliOptions, recorder, REPO, runE2E } from "./harness.mjs";
import { until } from "./workbench.mjs";

const SAMPLE = fs.readFileSync(path.join(import.meta.dirname, "sample.py"), "utf8");
const TYPED = "    result = ";
const KEY = "sk-e2e-user-endpoint"; // A's API key (a test fixture)
const FOLDER_INLINE_TOKENS = 7; // magicoder.inline.maxNewTokens in the folder's settings: a setting it may change

const opt = cliOptions("editor-remote");
const { results, step } = recorder({ typed: TYPED, apiKey: KEY });

/** Starts tests/helpers/openai_fake.py (a child of this process); resolves with its base URL once it listens. */
function startFake(logFile, key) {
  const args = ["-m", "tests.helpers.openai_fake", "--port", "0", "--log", logFile, ...(key ? ["--key", key] : [])];
  const child = spawn(opt.python, args, { cwd: REPO, env: { ...process.env, PYTHONUNBUFFERED: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let seen = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the scripted server did not start:\n${seen}`)), 30_000);
    const onData = (chunk) => {
      seen += chunk.toString();
      const match = seen.match(/^(http:\/\/127\.0\.0\.1:\d+\/v1)$/m);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the scripted server exited (${code}):\n${seen}`));
    });
  });
}

/** The requests a scripted server logged, one object per request. */
function requests(logFile) {
  if (!fs.existsSync(logFile)) return [];
  return fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

const completions = (logFile) => requests(logFile).filter((r) => r.method === "POST" && r.path.endsWith("/completions"));
const origin = (url) => new URL(url).origin;
const servers = {}; // a and b: { url, log }

async function setup(dirs) {
  for (const name of ["a", "b"]) {
    const log = path.join(dirs.run, `endpoint-${name}.jsonl`);
    servers[name] = { url: await startFake(log, name === "a" ? KEY : undefined), log };
  }
  results.endpointA = servers.a.url;
  results.endpointB = servers.b.url;
  step("scripted servers listening", { a: servers.a.url, b: servers.b.url });
  fs.writeFileSync(path.join(dirs.workspace, "sample.py"), SAMPLE);
  // A CA bundle of the folder's own: a usable one (certifi's, which httpx brings), so that only the endpoint decides.
  const certifi = spawnSync(opt.python, ["-c", "import certifi; print(certifi.where())"], { encoding: "utf8" });
  if (certifi.status !== 0) throw new Error(`no certifi in ${opt.python}: ${certifi.stderr}`);
  fs.copyFileSync(certifi.stdout.trim(), path.join(dirs.workspace, "ca.pem"));
  const folderSettings = {
    "magicoder.backend": "openai",
    "magicoder.endpoint": servers.b.url,
    "magicoder.allowInsecure": true,
    "magicoder.caBundle": "${workspaceFolder}/ca.pem",
    "magicoder.inline.maxNewTokens": FOLDER_INLINE_TOKENS,
  };
  fs.mkdirSync(path.join(dirs.workspace, ".vscode"));
  fs.writeFileSync(path.join(dirs.workspace, ".vscode", "settings.json"), JSON.stringify(folderSettings, null, 2));
  results.folderSettings = folderSettings;
  return {
    machine: {
      "magicoder.pythonPath": opt.python,
      "magicoder.backend": "openai",
      "magicoder.endpoint": servers.a.url,
      "magicoder.tokenizer": path.join(opt.model, "tokenizer.json"),
    },
  };
}

// The scenario's steps, in order. Each gets `t`: { wb, shot, dirs }.

/** The server starts and tries A (which answers 401 until it is sent the key). */
async function connectsToTheUsersEndpoint(t) {
  await until("the Magicoder status bar item", () => t.wb.statusItem(/Magicoder/), 60_000);
  const tried = await until("the server to ask A for its models", () => requests(servers.a.log).find((r) => r.path.endsWith("/models")), 60_000);
  step("the server tried A", { request: tried });
  await t.shot("01-connecting-without-a-key");
}

/** Magicoder: Set API Key asks for A's key (never B's), stores it in the secret storage, and the server reconnects. */
async function setApiKey(t) {
  await t.wb.command("Magicoder: Set API Key");
  results.keyPrompt = await t.wb.answerInputBox(KEY);
  step("API key typed", { prompt: results.keyPrompt });
  if (!results.keyPrompt.includes(origin(servers.a.url)) || results.keyPrompt.includes(origin(servers.b.url))) {
    throw new Error(`Set API Key asked for the wrong server: ${JSON.stringify(results.keyPrompt)}`);
  }
  const sent = `API key sent for ${origin(servers.a.url)}`;
  await until("the key to be sent to the server", () => magicoderLog(t.dirs.userData).includes(sent), 30_000);
  const ready = await until("the status bar to show the remote server ready", () => t.wb.statusItem(/Magicoder remote/), 60_000);
  step("connected with the key", { status: ready });
  await t.shot("02-connected");
}

/**
 * Ghost text at the end of sample.py: A's scripted answer. Keys typed at once after the file opens can reach
 * the editor before it asks the extensions for completions; then the last character is typed again, as
 * a user would go on typing, every few seconds until ghost text shows (counted in results.retypes).
 */
async function ghostText(t) {
  await t.wb.openFile("sample.py");
  await t.wb.keyboard.press("Control+End");
  await t.wb.keyboard.type(TYPED);
  results.retypes = 0;
  while (!results.ghost) {
    try {
      results.ghost = await until("ghost text", () => t.wb.ghostText(), 5_000);
    } catch (error) {
      if (results.retypes === 10) throw error;
      await t.wb.keyboard.press("Backspace");
      await t.wb.keyboard.type(TYPED.at(-1));
      results.retypes++;
    }
  }
  await t.shot("03-ghost-text");
  step("ghost text shown", { ghost: results.ghost, retypes: results.retypes });
  if (!results.ghost.includes("remote")) throw new Error(`the ghost text is not the scripted server's answer: ${results.ghost}`);
  await t.wb.keyboard.press("Escape");
}

/** Magicoder: Ask… on the first line: one more request, an Ask's. */
async function ask(t) {
  // The answer applied (logged as `Ask Magicoder: {...}`) or an error shown (logged as `[error] Magicoder: ...`).
  const outcomes = () => magicoderLog(t.dirs.userData).split("\n").filter((l) => /Ask Magicoder: \{|\[error\] Magicoder:/.test(l));
  const [sentBefore, outcomesBefore] = [completions(servers.a.log).length, outcomes().length];
  await askWithInstruction(t.wb, "add type hints");
  await until("the Ask to reach A", () => completions(servers.a.log).length > sentBefore, 60_000);
  await until("the Ask's outcome in the log", () => outcomes().length > outcomesBefore, 60_000);
  step("Magicoder: Ask… answered", { log: outcomes().at(-1) });
  await t.shot("04-asked");
}

/** The status bar's tooltip names A's endpoint, not B's. */
async function statusTooltip(t) {
  results.status = await t.wb.statusItem(/Magicoder/);
  results.tooltip = await t.wb.statusTooltip(/Magicoder/);
  step("status bar tooltip", { status: results.status, tooltip: results.tooltip });
  await t.shot("05-status-tooltip");
  if (!results.tooltip.includes(`Endpoint: ${servers.a.url}`) || results.tooltip.includes(servers.b.url)) {
    throw new Error(`the status bar tooltip does not name the user's endpoint alone: ${results.tooltip}`);
  }
}

/**
 * Every completion went to A with A's key; the folder's inline token limit reached the server; B got nothing;
 * the key is in no log.
 */
function requestsWentToA(t) {
  const sent = completions(servers.a.log);
  const unkeyed = sent.filter((r) => r.authorization !== `Bearer ${KEY}`);
  if (!sent.length || unkeyed.length) throw new Error(`A's completions without its key: ${JSON.stringify(unkeyed)}`);
  if (!sent.some((r) => r.max_tokens === FOLDER_INLINE_TOKENS)) {
    throw new Error(`the folder's settings did not reach the server (no inline request of ${FOLDER_INLINE_TOKENS} tokens)`);
  }
  const toB = requests(servers.b.log);
  if (toB.length) throw new Error(`the folder's endpoint got requests: ${JSON.stringify(toB)}`);
  if (magicoderLog(t.dirs.userData).includes(KEY)) throw new Error("the API key is in the Magicoder log");
  step("requests went to the user's endpoint", { completionsToA: sent.length, requestsToB: toB.length });
}

const STEPS = [connectsToTheUsersEndpoint, setApiKey, ghostText, ask, statusTooltip, requestsWentToA];

await runE2E({
  opt,
  results,
  step,
  setup,
  scenario: async (t) => {
    for (const run of STEPS) await run(t);
  },
  // Read once every process is stopped: nothing can reach B afterwards.
  after: () => {
    for (const [name, server] of Object.entries(servers)) {
      results[`requests${name.toUpperCase()}`] = requests(server.log);
      if (fs.existsSync(server.log)) fs.copyFileSync(server.log, path.join(opt.artifacts, path.basename(server.log)));
    }
    if (results.requestsB?.length) throw new Error(`the folder's endpoint got requests: ${JSON.stringify(results.requestsB)}`);
  },
});

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { buildEnvironment, BuildRequest, Cancelled, missingModules, readRecord, removeStale, SetupError, Tools } from "../src/environments";
import { Cancel, NEVER, output, run, RunResult } from "../src/processes";
import { Update } from "../src/progress";
import { envsRoot, READY_FILE } from "../src/setup";

type Call = { command: string; args: string[] };

/** Tools that record the commands and play a script: venv makes the folder's python, pip prints `pipLines`. */
function fakeTools(opts: { pipLines?: string[]; pipCode?: number; cancelAt?: string; missing?: string[] } = {}): Tools & { calls: Call[] } {
  const calls: Call[] = [];
  const result = (code: number, cancelled = false): RunResult => ({ code, signal: null, cancelled });
  return {
    calls,
    run: async (command, args, options = {}) => {
      calls.push({ command, args: [...args] });
      if (args[0] === "-m" && args[1] === "venv") {
        fs.mkdirSync(path.join(args[2], "bin"), { recursive: true });
        fs.writeFileSync(path.join(args[2], "bin", "python"), "");
        return result(0, opts.cancelAt === "venv");
      }
      for (const line of opts.pipLines ?? []) options.onStdout?.(line);
      return result(opts.pipCode ?? 0, opts.cancelAt === "pip");
    },
    output: async (command, args) => {
      calls.push({ command, args: [...args] });
      const missing = args[1]?.includes("find_spec") ? (opts.missing ?? []).join(" ") : "0.1.0";
      return { ...result(0), stdout: missing, stderr: "" };
    },
  };
}

function request(storage: string, tools: Tools, patch: Partial<BuildRequest> = {}): BuildRequest & { updates: Update[]; lines: string[] } {
  const updates: Update[] = [];
  const lines: string[] = [];
  return {
    storage,
    basePython: "/usr/bin/python3",
    pythonVersion: "3.11.7",
    spec: "/wheels/magicoder_lsp-0.1.0-py3-none-any.whl[cpu]",
    extras: ["cpu"],
    cancel: NEVER,
    report: (u) => updates.push(u),
    log: (l) => lines.push(l),
    tools,
    now: new Date(2026, 0, 1, 12, 0, 0, 0),
    updates,
    lines,
    ...patch,
  };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "magicoder-env-test-"));

test("a new environment: venv, pip install, the server checked, the record written", async () => {
  const storage = tmp();
  const tools = fakeTools({ pipLines: ["Collecting pygls", "Installing collected packages: pygls", "Successfully installed pygls-2.1.1"] });
  const r = request(storage, tools);
  const built = await buildEnvironment(r);
  assert.equal(built.folder, path.join(envsRoot(storage), "env-20260101-120000-000"));
  assert.equal(built.python, path.join(built.folder, "bin", "python"));
  assert.deepEqual(tools.calls[0], { command: "/usr/bin/python3", args: ["-m", "venv", built.folder] });
  assert.equal(tools.calls[1].command, built.python);
  assert.equal(tools.calls[1].args.at(-1), r.spec);
  assert.deepEqual(readRecord(built.folder), { ...built.record });
  assert.equal(built.record.spec, r.spec);
  const fractions = r.updates.map((u) => u.fraction).filter((f): f is number => f !== undefined);
  assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b));
  assert.equal(fractions.at(-1), 1);
  assert.ok(r.lines.includes("Successfully installed pygls-2.1.1"));
});

test("a span maps the build into the caller's progress", async () => {
  const r = request(tmp(), fakeTools(), { span: [0, 0.4] });
  await buildEnvironment(r);
  const fractions = r.updates.map((u) => u.fraction).filter((f): f is number => f !== undefined);
  assert.ok(fractions.every((f) => f <= 0.4) && fractions.at(-1) === 0.4, JSON.stringify(fractions));
});

test("pip failing: the folder is removed and the message says what to do", async () => {
  const storage = tmp();
  const r = request(storage, fakeTools({ pipCode: 1, pipLines: ["ERROR: No matching distribution found for magicoder-lsp==0.1.0"] }));
  await assert.rejects(buildEnvironment(r), (error: Error) => error instanceof SetupError && /found no .* on its package index/.test(error.message));
  assert.deepEqual(fs.readdirSync(envsRoot(storage)), []);
});

test("Cancel during venv or pip: the folder is removed", async () => {
  for (const cancelAt of ["venv", "pip"]) {
    const storage = tmp();
    await assert.rejects(buildEnvironment(request(storage, fakeTools({ cancelAt }))), Cancelled);
    assert.deepEqual(fs.readdirSync(envsRoot(storage)), [], cancelAt);
  }
});

test("pip succeeding without an extra's modules is a failure too", async () => {
  const storage = tmp();
  const r = request(storage, fakeTools({ missing: ["onnxruntime"] }));
  await assert.rejects(buildEnvironment(r), (error: Error) => error instanceof SetupError && /missing onnxruntime/.test(error.message));
  assert.deepEqual(fs.readdirSync(envsRoot(storage)), []);
});

test("stale unfinished environments are removed, finished and young ones kept", () => {
  const storage = tmp();
  const root = envsRoot(storage);
  for (const name of ["env-done", "env-killed", "env-young"]) fs.mkdirSync(path.join(root, name), { recursive: true });
  fs.writeFileSync(path.join(root, "env-done", READY_FILE), "{}");
  const old = new Date(Date.now() - 7 * 3600_000);
  for (const name of ["env-done", "env-killed"]) fs.utimesSync(path.join(root, name), old, old);
  assert.deepEqual(removeStale(storage), ["env-killed"]);
  assert.deepEqual(fs.readdirSync(root).sort(), ["env-done", "env-young"]);
  assert.deepEqual(removeStale(path.join(storage, "nothing")), []);
});

test("missing modules: what find_spec does not find, in a real interpreter", async () => {
  const python = process.env.PYTHON ?? "python3";
  assert.deepEqual(await missingModules(python, ["json", "no_such_module_xyz"]), ["no_such_module_xyz"]);
  assert.deepEqual(await missingModules("/no/such/python", ["json"]), ["json"]);
});

/** Running, and not a zombie (a dead child its new parent has not reaped yet). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function cancelAfter(ms: number): Cancel {
  const listeners: (() => unknown)[] = [];
  let cancelled = false;
  setTimeout(() => {
    cancelled = true;
    for (const l of listeners) l();
  }, ms);
  return {
    get isCancellationRequested() {
      return cancelled;
    },
    onCancellationRequested: (l) => (listeners.push(l), { dispose: () => undefined }),
  };
}

test("run: output line by line, and Cancel stops the command and the processes it started", async () => {
  const lines: string[] = [];
  const ok = await run("sh", ["-c", "echo one; echo two >&2; echo three"], { onStdout: (l) => lines.push(l), onStderr: (l) => lines.push(`err ${l}`) });
  assert.equal(ok.code, 0);
  assert.deepEqual(lines.sort(), ["err two", "one", "three"]);
  const pidFile = path.join(tmp(), "child.pid");
  const started = Date.now();
  const cancelled = await run("sh", ["-c", `sleep 30 & echo $! > ${pidFile}; wait`], { cancel: cancelAfter(300), graceMs: 2000 });
  assert.equal(cancelled.cancelled, true);
  assert.ok(Date.now() - started < 10_000);
  const child = Number(fs.readFileSync(pidFile, "utf8"));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(alive(child), false, "the command's child was stopped too");
  const missing = await run("/no/such/command", []);
  assert.ok(missing.error && missing.code !== 0);
  const timed = await output("sh", ["-c", "sleep 30"], { timeoutMs: 200 });
  assert.equal(timed.cancelled, true);
});

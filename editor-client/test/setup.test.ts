import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import {
  BasePythonSearch,
  defaultPackage,
  envName,
  envsRoot,
  extrasFor,
  findBasePython,
  isPathSpec,
  managedEnvOf,
  packageSpec,
  parseProbe,
  parsePythonVersion,
  pipInstallArgs,
  Probe,
  runtimeFor,
  runtimeOf,
  staleEnvs,
  venvPython,
  versionOk,
} from "../src/setup";

test("the runtime: [gpu] where nvidia-smi works, else [cpu]; [remote] for a team's server whatever the machine", () => {
  assert.equal(runtimeFor("local", true), "gpu");
  assert.equal(runtimeFor("local", false), "cpu");
  assert.equal(runtimeFor("team", true), "remote");
  assert.equal(runtimeFor("team", false), "remote");
});

test("extras: the runtime's, and the exporter's beside it (export-gpu with onnxruntime-gpu)", () => {
  assert.deepEqual(extrasFor({ runtime: "cpu", exporter: false }), ["cpu"]);
  assert.deepEqual(extrasFor({ runtime: "gpu", exporter: false }), ["gpu"]);
  assert.deepEqual(extrasFor({ runtime: "remote", exporter: false }), ["remote"]);
  assert.deepEqual(extrasFor({ runtime: "cpu", exporter: true }), ["cpu", "export"]);
  assert.deepEqual(extrasFor({ runtime: "gpu", exporter: true }), ["gpu", "export-gpu"]);
  assert.deepEqual(extrasFor({ runtime: "remote", exporter: true }), ["remote", "export"]);
  assert.equal(runtimeOf(["cpu", "export"]), "cpu");
  assert.equal(runtimeOf(["gpu", "export-gpu"]), "gpu");
  assert.equal(runtimeOf(["remote"]), "remote");
  assert.equal(runtimeOf([]), undefined);
});

test("the package: the release matching the extension by default, with the extras", () => {
  assert.equal(defaultPackage("0.1.0"), "magicoder-lsp==0.1.0");
  assert.equal(packageSpec("", "0.1.0", ["cpu"]), "magicoder-lsp[cpu]==0.1.0");
  assert.equal(packageSpec("  ", "0.2.3", ["gpu", "export-gpu"]), "magicoder-lsp[gpu,export-gpu]==0.2.3");
});

test("the package setting: a requirement, a wheel, a folder, a URL", () => {
  const home = "/home/me";
  assert.equal(packageSpec("magicoder-lsp>=0.1,<0.3", "0.1.0", ["remote"], home), "magicoder-lsp[remote]>=0.1,<0.3");
  assert.equal(packageSpec("magicoder-lsp[cpu] == 0.1.0", "0.1.0", ["cpu", "export"], home), "magicoder-lsp[cpu,export]== 0.1.0");
  assert.equal(packageSpec("magicoder-lsp", "0.1.0", ["cpu"], home), "magicoder-lsp[cpu]");
  const wheel = "/wheels/magicoder_lsp-0.1.0-py3-none-any.whl";
  assert.equal(packageSpec(wheel, "0.1.0", ["remote"], home), `${wheel}[remote]`);
  assert.equal(packageSpec(`file://${wheel}`, "0.1.0", ["remote"], home), `${wheel}[remote]`);
  assert.equal(packageSpec("~/src/magicoder-lsp", "0.1.0", ["cpu"], home), "/home/me/src/magicoder-lsp[cpu]");
  assert.equal(packageSpec("/src/magicoder-lsp[cpu]", "0.1.0", ["cpu", "export"], home), "/src/magicoder-lsp[cpu,export]");
  assert.equal(packageSpec("./dist/x.whl", "0.1.0", ["cpu"], home), `${path.resolve("dist/x.whl")}[cpu]`);
  assert.equal(
    packageSpec("https://example.com/magicoder_lsp-0.1.0-py3-none-any.whl", "0.1.0", ["cpu"], home),
    "magicoder-lsp[cpu] @ https://example.com/magicoder_lsp-0.1.0-py3-none-any.whl",
  );
  assert.equal(isPathSpec("magicoder-lsp==0.1.0"), false);
  assert.equal(isPathSpec("C:\\wheels\\m.whl"), true);
});

test("pip runs without prompts or progress bars, the spec last", () => {
  const args = pipInstallArgs("magicoder-lsp[cpu]==0.1.0");
  assert.deepEqual(args.slice(0, 3), ["-m", "pip", "install"]);
  assert.ok(args.includes("--no-input") && args.includes("--disable-pip-version-check"));
  assert.deepEqual(args.slice(-3), ["--progress-bar", "off", "magicoder-lsp[cpu]==0.1.0"]);
});

test("Python versions: 3.10 or newer", () => {
  assert.deepEqual(parsePythonVersion("3.11.7"), [3, 11, 7]);
  assert.deepEqual(parsePythonVersion("Python 3.10"), [3, 10, 0]);
  assert.equal(parsePythonVersion("no"), undefined);
  assert.equal(versionOk([3, 10, 0]), true);
  assert.equal(versionOk([3, 13, 1]), true);
  assert.equal(versionOk([3, 9, 18]), false);
  assert.equal(versionOk([4, 0, 0]), true);
  assert.deepEqual(parseProbe("3.12.1\nvenv ok\n"), { version: "3.12.1", venv: true, error: undefined });
  assert.deepEqual(parseProbe("3.11.2\nvenv missing: No module named 'ensurepip'"), {
    version: "3.11.2",
    venv: false,
    error: "venv missing: No module named 'ensurepip'",
  });
});

function search(probes: Record<string, Probe>, extension: string[] = [], onPath: Record<string, string> = {}): BasePythonSearch & { probed: string[] } {
  const probed: string[] = [];
  return {
    pythonExtension: async () => extension,
    which: (command) => onPath[command],
    probe: async (python) => {
      probed.push(python);
      return probes[python] ?? { venv: false, error: "not found" };
    },
    probed,
  };
}

test("the base Python: the Python extension's first, then python3 and versioned names on PATH; the first usable wins", async () => {
  const s = search(
    {
      "/ext/old/python": { version: "3.8.10", venv: true },
      "/ext/nove/python": { version: "3.12.0", venv: false, error: "venv missing: No module named 'ensurepip'" },
      "/usr/bin/python3": { version: "3.11.4", venv: true },
    },
    ["/ext/old/python", "/ext/nove/python"],
    { python3: "/usr/bin/python3", "python3.11": "/usr/bin/python3", python: "/usr/bin/python" },
  );
  assert.deepEqual(await findBasePython(s), { python: "/usr/bin/python3", version: "3.11.4", source: "PATH" });
  assert.deepEqual(s.probed, ["/ext/old/python", "/ext/nove/python", "/usr/bin/python3"]); // each once, stops at the first
});

test("no usable Python: one message saying what to install, and what was tried", async () => {
  const s = search({ "/usr/bin/python3": { version: "3.9.2", venv: true } }, [], { python3: "/usr/bin/python3" });
  const found = await findBasePython(s);
  assert.ok("error" in found);
  assert.match(found.error, /no usable Python 3.10 or newer was found/);
  assert.match(found.error, /python3-venv/);
  assert.match(found.error, /Set Up Server again/);
  assert.deepEqual(found.tried, ["/usr/bin/python3 (PATH): Python 3.9.2, older than 3.10"]);
  const none = await findBasePython(search({}, [], {}));
  assert.ok("error" in none && /no Python was found/.test(none.error));
  const failing = await findBasePython({ ...search({}, [], {}), pythonExtension: () => Promise.reject(new Error("x")) });
  assert.ok("error" in failing);
});

test("where environments live: new folders sortable by time; an interpreter inside one of them is managed", () => {
  const storage = "/storage";
  assert.equal(envsRoot(storage), "/storage/envs");
  assert.equal(envName(new Date(2026, 0, 2, 3, 4, 5, 6)), "env-20260102-030405-006");
  assert.equal(venvPython("/storage/envs/env-1", "linux"), "/storage/envs/env-1/bin/python");
  assert.equal(venvPython("C:\\s\\env-1", "win32"), path.join("C:\\s\\env-1", "Scripts", "python.exe"));
  assert.equal(managedEnvOf("/storage/envs/env-1/bin/python", storage), "/storage/envs/env-1");
  assert.equal(managedEnvOf("/home/me/venv/bin/python", storage), undefined);
  assert.equal(managedEnvOf("/storage/other/bin/python", storage), undefined);
  assert.equal(managedEnvOf("", storage), undefined);
});

test("stale environments: unfinished and old only (a young one may be another window's setup)", () => {
  const hour = 3600_000;
  const entries = [
    { name: "env-a", ready: true, ageMs: 100 * hour },
    { name: "env-b", ready: false, ageMs: 7 * hour },
    { name: "env-c", ready: false, ageMs: 1 * hour },
    { name: "other", ready: false, ageMs: 100 * hour },
  ];
  assert.deepEqual(staleEnvs(entries), ["env-b"]);
});

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import {
  candidates,
  checkPython,
  Discovery,
  findInterpreter,
  onPythonInterpreterChange,
  pythonExtensionInterpreter,
  which,
} from "../src/python";

function discovery(patch: Partial<Discovery>, good: string[] = []): Discovery & { checked: string[] } {
  const checked: string[] = [];
  return {
    setting: "",
    pythonExtension: async () => "/ext/bin/python",
    which: (command) => (command === "python3" ? "/usr/bin/python3" : undefined),
    check: async (python) => {
      checked.push(python);
      return good.includes(python) ? { ok: true, detail: "" } : { ok: false, detail: "No module named 'lsp_server'" };
    },
    checked,
    ...patch,
  };
}

test("order: the Python extension's interpreter, then python3 on PATH", async () => {
  assert.deepEqual(await candidates(discovery({})), [
    { python: "/ext/bin/python", source: "Python extension" },
    { python: "/usr/bin/python3", source: "PATH" },
  ]);
});

test("an explicit magicoder.pythonPath is the only candidate", async () => {
  const d = discovery({ setting: "/venv/bin/python" }, ["/usr/bin/python3"]);
  const found = await findInterpreter(d);
  assert.deepEqual(d.checked, ["/venv/bin/python"]);
  assert.ok("error" in found);
  assert.match(found.error, /\/venv\/bin\/python -m pip install 'magicoder-lsp\[cpu\]'/);
  assert.deepEqual(found.tried, ["/venv/bin/python (magicoder.pythonPath): No module named 'lsp_server'"]);
});

test("the first interpreter that has the package wins", async () => {
  assert.deepEqual(await findInterpreter(discovery({}, ["/ext/bin/python", "/usr/bin/python3"])), {
    python: "/ext/bin/python",
    source: "Python extension",
  });
  const d = discovery({}, ["/usr/bin/python3"]);
  assert.deepEqual(await findInterpreter(d), { python: "/usr/bin/python3", source: "PATH" });
  assert.deepEqual(d.checked, ["/ext/bin/python", "/usr/bin/python3"]);
});

test("without the Python extension (or when it fails) PATH is used", async () => {
  const none = discovery({ pythonExtension: async () => undefined }, ["/usr/bin/python3"]);
  assert.deepEqual(await findInterpreter(none), { python: "/usr/bin/python3", source: "PATH" });
  const failing = discovery({ pythonExtension: () => Promise.reject(new Error("x")) }, ["/usr/bin/python3"]);
  assert.deepEqual(await findInterpreter(failing), { python: "/usr/bin/python3", source: "PATH" });
});

test("none has the package: a clear error with the fix and what was tried", async () => {
  const found = await findInterpreter(discovery({}));
  assert.ok("error" in found);
  assert.match(found.error, /none of these Pythons has magicoder-lsp installed/);
  assert.match(found.error, /pip install 'magicoder-lsp\[cpu\]'/);
  assert.equal(found.tried.length, 2);
  const nothing = await findInterpreter(discovery({ pythonExtension: async () => undefined, which: () => undefined }));
  assert.ok("error" in nothing);
  assert.match(nothing.error, /no Python interpreter was found/);
});

function fakePython(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

test("which and checkPython on real files", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "magicoder-python-"));
  try {
    const good = fakePython(dir, "python3", 'test "$1 $2" = "-c import lsp_server"');
    const bad = fakePython(dir, "bad", "echo 'Traceback' >&2; echo \"ModuleNotFoundError: No module named 'lsp_server'\" >&2; exit 1");
    fs.writeFileSync(path.join(dir, "notexec"), "");
    assert.equal(which("python3", dir), good);
    assert.equal(which("notexec", dir), undefined);
    assert.equal(which(good, ""), good);
    assert.equal(which(path.join(dir, "missing"), ""), undefined);
    assert.deepEqual(await checkPython(good), { ok: true, detail: "" });
    assert.deepEqual(await checkPython(bad), { ok: false, detail: "ModuleNotFoundError: No module named 'lsp_server'" });
    const missing = await checkPython(path.join(dir, "missing"));
    assert.equal(missing.ok, false);
    assert.match(missing.detail, /ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the Python extension's active environment is resolved to its executable", async () => {
  const api = {
    environments: {
      getActiveEnvironmentPath: () => ({ path: "/envs/a" }),
      resolveEnvironment: async () => ({ executable: { uri: { fsPath: "/envs/a/bin/python" } } }),
    },
  };
  const extensions = (exports: unknown, isActive: boolean) =>
    ({
      getExtension: (id: string) =>
        id === "ms-python.python" ? { isActive, exports, activate: async () => exports } : undefined,
    }) as never;
  assert.equal(await pythonExtensionInterpreter(extensions(api, true)), "/envs/a/bin/python");
  assert.equal(await pythonExtensionInterpreter(extensions(api, false)), "/envs/a/bin/python");
  assert.equal(await pythonExtensionInterpreter({ getExtension: () => undefined } as never), undefined);
  assert.equal(await pythonExtensionInterpreter(extensions({}, true)), undefined);
});

test("a change of the Python extension's interpreter is reported", async () => {
  const listeners: (() => void)[] = [];
  const api = {
    environments: {
      onDidChangeActiveEnvironmentPath: (listener: () => void) => {
        listeners.push(listener);
        return { dispose: () => undefined };
      },
    },
  };
  const extensions = { getExtension: () => ({ isActive: false, exports: undefined, activate: async () => api }) } as never;
  let changes = 0;
  const sub = await onPythonInterpreterChange(extensions, () => (changes += 1));
  assert.ok(sub);
  listeners.forEach((listener) => listener());
  assert.equal(changes, 1);
  assert.equal(await onPythonInterpreterChange({ getExtension: () => undefined } as never, () => undefined), undefined);
});

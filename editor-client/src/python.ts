// Finding the Python interpreter that runs the server: the magicoder.pythonPath setting, else the
// Python extension's active interpreter, else python3 on PATH; each checked for `import lsp_server`.
// No runtime dependency on the vscode module: the extensions API is passed in.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as vscode from "vscode";

export type Source = "magicoder.pythonPath" | "Python extension" | "PATH";

export interface Candidate {
  python: string;
  source: Source;
}

export interface Check {
  ok: boolean;
  detail: string; // why not, when not ok
}

export interface Discovery {
  /** The setting's value ("" when unset). */
  setting: string;
  /** The Python extension's active interpreter, if that extension is installed and has one. */
  pythonExtension: () => Promise<string | undefined>;
  /** A command looked up on PATH (undefined when absent). */
  which: (command: string) => string | undefined;
  /** Whether an interpreter can import the server. */
  check: (python: string) => Promise<Check>;
}

export type Found = { python: string; source: Source } | { error: string; tried: string[] };

export const INSTALL_HINT = "pip install 'magicoder-lsp[cpu]'";

/** The candidates in order; an explicit setting is the only one (the user chose it). */
export async function candidates(d: Discovery): Promise<Candidate[]> {
  if (d.setting) return [{ python: d.which(d.setting) ?? d.setting, source: "magicoder.pythonPath" }];
  const out: Candidate[] = [];
  const fromExtension = await d.pythonExtension().catch(() => undefined);
  if (fromExtension) out.push({ python: fromExtension, source: "Python extension" });
  const onPath = d.which("python3");
  if (onPath && !out.some((c) => c.python === onPath)) out.push({ python: onPath, source: "PATH" });
  return out;
}

/** The first candidate that has magicoder-lsp, or an error saying what was tried and how to fix it. */
export async function findInterpreter(d: Discovery): Promise<Found> {
  const tried: string[] = [];
  for (const c of await candidates(d)) {
    const result = await d.check(c.python);
    if (result.ok) return c;
    tried.push(`${c.python} (${c.source}): ${result.detail}`);
  }
  const target = tried.length ? "none of these Pythons has magicoder-lsp installed" : "no Python interpreter was found";
  const fix = d.setting
    ? `install the server into it (\`${d.setting} -m ${INSTALL_HINT}\`) or change magicoder.pythonPath`
    : `install the server (\`python3 -m ${INSTALL_HINT}\`) and/or set magicoder.pythonPath to a Python that has it`;
  return { error: `Magicoder: ${target}. Fix: ${fix}.`, tried };
}

/** `command` on PATH (or the path itself when it names an executable file). */
export function which(command: string, envPath = process.env.PATH ?? ""): string | undefined {
  const executable = (file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes(path.sep)) return executable(command) ? command : undefined;
  for (const dir of envPath.split(path.delimiter)) {
    if (dir && executable(path.join(dir, command))) return path.join(dir, command);
  }
  return undefined;
}

/** Runs `python -c "import lsp_server"`; the last line of its error output says why not. */
export function checkPython(python: string, timeoutMs = 30_000): Promise<Check> {
  return new Promise((resolve) => {
    execFile(python, ["-c", "import lsp_server"], { timeout: timeoutMs }, (error, _stdout, stderr) => {
      if (!error) return resolve({ ok: true, detail: "" });
      const last = stderr.trim().split("\n").pop() || error.message;
      resolve({ ok: false, detail: last });
    });
  });
}

interface PythonExtensionApi {
  environments?: {
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(env: { path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    known?: readonly { path: string; executable?: { uri?: vscode.Uri } }[];
  };
}

/** The active interpreter of ms-python.python (its environments API), or undefined. */
export async function pythonExtensionInterpreter(
  extensions: typeof vscode.extensions,
  resource?: vscode.Uri,
): Promise<string | undefined> {
  const extension = extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!extension) return undefined;
  const api = extension.isActive ? extension.exports : await extension.activate();
  const active = api?.environments?.getActiveEnvironmentPath(resource);
  if (!active) return undefined;
  const env = await api.environments?.resolveEnvironment(active);
  return env?.executable?.uri?.fsPath ?? active.path;
}

/** Every interpreter ms-python.python knows (its active one first), or [] without that extension. */
export async function pythonExtensionInterpreters(extensions: typeof vscode.extensions, resource?: vscode.Uri): Promise<string[]> {
  const extension = extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!extension) return [];
  const api = extension.isActive ? extension.exports : await extension.activate();
  const out: string[] = [];
  const active = await pythonExtensionInterpreter(extensions, resource).catch(() => undefined);
  if (active) out.push(active);
  for (const env of api?.environments?.known ?? []) {
    const python = env.executable?.uri?.fsPath ?? env.path;
    if (python && !out.includes(python)) out.push(python);
  }
  return out;
}

/** Calls `listener` when the Python extension's active interpreter changes (once it is active). */
export async function onPythonInterpreterChange(
  extensions: typeof vscode.extensions,
  listener: () => void,
): Promise<vscode.Disposable | undefined> {
  const extension = extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!extension) return undefined;
  const api = extension.isActive ? extension.exports : await extension.activate();
  return api?.environments?.onDidChangeActiveEnvironmentPath?.(() => listener());
}

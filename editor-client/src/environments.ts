// The managed environments of Magicoder: Set Up Server (and of Get Model, when it adds the exporter's tools):
// each is built in a new folder under the extension's global storage and used only once it is complete, so a
// failed or cancelled setup leaves the previous environment, and the settings, as they were. No runtime
// dependency on vscode: the runner and the reports are passed in.
import * as fs from "node:fs";
import * as path from "node:path";
import { Cancel, output as realOutput, run as realRun } from "./processes";
import { pipFailure, PipProgress, Update } from "./progress";
import { EnvRecord, envName, envsRoot, pipInstallArgs, READY_FILE, staleEnvs, venvPython } from "./setup";

/** A setup that cannot finish; the message says what to do. */
export class SetupError extends Error {}
/** The user cancelled. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
  }
}

/** Modules each extra brings (checked once installed: pip can succeed and leave a module unusable). */
export const EXTRA_MODULES: Record<string, string[]> = {
  cpu: ["onnxruntime"],
  gpu: ["onnxruntime"],
  remote: ["httpx", "httpx_sse"],
  export: ["torch", "transformers", "onnx", "onnxruntime_genai", "huggingface_hub"],
  "export-gpu": ["torch", "transformers", "onnx", "onnxruntime_genai", "huggingface_hub"],
};

/** The modules of the exporter's tools (what Get Model needs besides the server). */
export const EXPORTER_MODULES = EXTRA_MODULES.export;

/** Prints the modules among argv that are not installed (find_spec: nothing is imported). */
const MISSING_SCRIPT =
  "import importlib.util, sys\nprint(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))";

export interface Tools {
  run: typeof realRun;
  output: typeof realOutput;
}

const REAL: Tools = { run: realRun, output: realOutput };

/** The modules `python` lacks (all of them when it does not run). */
export async function missingModules(python: string, modules: readonly string[], tools: Tools = REAL): Promise<string[]> {
  const result = await tools.output(python, ["-c", MISSING_SCRIPT, ...modules], { timeoutMs: 60_000 });
  if (result.code !== 0) return [...modules];
  return result.stdout.trim().split(/\s+/).filter(Boolean);
}

export interface BuildRequest {
  storage: string;
  basePython: string;
  pythonVersion: string;
  /** What pip installs (setup.packageSpec), and the extras it carries. */
  spec: string;
  extras: string[];
  cancel: Cancel;
  report: (update: Update) => void;
  log: (line: string) => void;
  /** The share of the caller's progress this build spans (Get Model: a part of its task). */
  span?: [number, number];
  env?: NodeJS.ProcessEnv;
  now?: Date;
  tools?: Tools;
}

export interface BuiltEnv {
  folder: string;
  python: string;
  record: EnvRecord;
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).at(-1) ?? "";
}

/**
 * A new virtual environment with `spec` installed: `python -m venv`, `pip install`, then a check that the server
 * imports and every extra's modules are there. On failure or Cancel the folder is removed (SetupError, Cancelled).
 */
export async function buildEnvironment(r: BuildRequest): Promise<BuiltEnv> {
  const tools = r.tools ?? REAL;
  const [from, to] = r.span ?? [0, 1];
  const at = (share: number) => from + (to - from) * share;
  const report = (u: Update) => r.report({ ...u, ...(u.fraction !== undefined ? { fraction: at(u.fraction) } : {}) });
  const root = envsRoot(r.storage);
  fs.mkdirSync(root, { recursive: true });
  const folder = path.join(root, envName(r.now ?? new Date()));
  const python = venvPython(folder);
  const env = { ...(r.env ?? process.env), PIP_NO_INPUT: "1", PYTHONUNBUFFERED: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1" };
  const log = (line: string) => r.log(line);
  try {
    report({ message: `creating a Python ${r.pythonVersion} environment`, fraction: 0.02 });
    r.log(`creating the environment ${folder} with ${r.basePython} (Python ${r.pythonVersion})`);
    const venvLog: string[] = [];
    const venv = await tools.run(r.basePython, ["-m", "venv", folder], {
      cancel: r.cancel,
      env,
      onStdout: (l) => (venvLog.push(l), log(l)),
      onStderr: (l) => (venvLog.push(l), log(l)),
    });
    if (venv.cancelled) throw new Cancelled();
    if (venv.code !== 0 || !fs.existsSync(python)) {
      throw new SetupError(
        `${r.basePython} could not create a virtual environment (${venv.error ?? (lastLine(venvLog.join("\n")) || `exit ${venv.code}`)}). ` +
          "Install Python's venv module (Debian and Ubuntu: `sudo apt install python3-venv`) and run Magicoder: Set Up Server again.",
      );
    }
    report({ message: `installing ${r.spec}`, fraction: 0.1 });
    r.log(`${python} ${pipInstallArgs(r.spec).join(" ")}`);
    const pip = new PipProgress(0.1, 0.92);
    const pipLog: string[] = [];
    const onLine = (line: string) => {
      pipLog.push(line);
      log(line);
      const update = pip.line(line);
      if (update) report(update);
    };
    const installed = await tools.run(python, pipInstallArgs(r.spec), { cancel: r.cancel, env, onStdout: onLine, onStderr: onLine });
    if (installed.cancelled) throw new Cancelled();
    if (installed.code !== 0) throw new SetupError(pipFailure(pip.errors, pipLog, r.spec));
    report({ message: "checking the server", fraction: 0.94 });
    const modules = ["lsp_server", ...r.extras.flatMap((e) => EXTRA_MODULES[e] ?? [])];
    const check = await tools.output(python, ["-c", "import lsp_server; print(lsp_server.__version__)"], { timeoutMs: 120_000, cancel: r.cancel, env });
    if (check.cancelled) throw new Cancelled();
    const missing = check.code === 0 ? await missingModules(python, modules, tools) : modules;
    if (check.code !== 0 || missing.length) {
      const why = check.code !== 0 ? lastLine(check.stderr) || `exit ${check.code}` : `missing ${missing.join(", ")}`;
      throw new SetupError(`pip installed ${r.spec}, but the server cannot run from it (${why}). See the log (Magicoder: Show Logs).`);
    }
    const record: EnvRecord = {
      spec: r.spec,
      extras: r.extras,
      basePython: r.basePython,
      pythonVersion: r.pythonVersion,
      created: (r.now ?? new Date()).toISOString(),
    };
    fs.writeFileSync(path.join(folder, READY_FILE), JSON.stringify(record, null, 2));
    r.log(`the environment is ready: ${python} (magicoder-lsp ${check.stdout.trim()})`);
    report({ message: "the server is installed", fraction: 1 });
    return { folder, python, record };
  } catch (error) {
    r.log(`removing the unfinished environment ${folder}`);
    fs.rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

/** What a finished managed environment holds (undefined for a folder that is not one). */
export function readRecord(folder: string): EnvRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(folder, READY_FILE), "utf8")) as EnvRecord;
  } catch {
    return undefined;
  }
}

/** Removes the unfinished environments that a killed setup left (setup.staleEnvs); returns their names. */
export function removeStale(storage: string, now = Date.now()): string[] {
  const root = envsRoot(storage);
  if (!fs.existsSync(root)) return [];
  const entries = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => {
    const folder = path.join(root, d.name);
    return { name: d.name, ready: fs.existsSync(path.join(folder, READY_FILE)), ageMs: now - fs.statSync(folder).mtimeMs };
  });
  const stale = staleEnvs(entries);
  for (const name of stale) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  return stale;
}

// Magicoder: Set Up Server, the pure parts: which Python builds the environment, which runtime extra fits this
// machine, what pip is asked to install, where the environments live. No runtime dependency on vscode.
import * as os from "node:os";
import * as path from "node:path";

/** The server's runtime: onnxruntime on the CPU, onnxruntime-gpu, or none (a team's inference server). */
export type Runtime = "cpu" | "gpu" | "remote";
/** Where answers come from: a model on this machine, or a team's OpenAI-compatible server. */
export type Mode = "local" | "team";

export const PACKAGE = "magicoder-lsp";
export const MIN_PYTHON: readonly [number, number] = [3, 10];

/** What one managed environment holds: the runtime, and the exporter's tools when Get Model needed them. */
export interface EnvPlan {
  runtime: Runtime;
  exporter: boolean;
}

/** `[gpu]` where an NVIDIA driver answers (`nvidia-smi` works), else `[cpu]`; `[remote]` for a team's server. */
export function runtimeFor(mode: Mode, nvidia: boolean): Runtime {
  if (mode === "team") return "remote";
  return nvidia ? "gpu" : "cpu";
}

/** pyproject.toml's extras for a plan: the runtime's, and `export` (`export-gpu` beside onnxruntime-gpu). */
export function extrasFor(plan: EnvPlan): string[] {
  const extras: string[] = [plan.runtime];
  if (plan.exporter) extras.push(plan.runtime === "gpu" ? "export-gpu" : "export");
  return extras;
}

/** The runtime an installed environment has, from its extras (undefined when none is known). */
export function runtimeOf(extras: readonly string[]): Runtime | undefined {
  return (["gpu", "cpu", "remote"] as const).find((r) => extras.includes(r));
}

/** The release matching the extension: `magicoder-lsp==0.1.0` for version 0.1.0. */
export function defaultPackage(version: string): string {
  return `${PACKAGE}==${version}`;
}

const REQUIREMENT = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$/;

function merged(existing: string | undefined, extras: readonly string[]): string {
  const all = [...(existing ?? "").split(",").map((e) => e.trim()).filter(Boolean), ...extras];
  return [...new Set(all)].join(",");
}

/** Whether the setting names a file or folder (a wheel, a source checkout) rather than a requirement. */
export function isPathSpec(spec: string): boolean {
  const s = spec.trim();
  return s.startsWith("/") || s.startsWith("./") || s.startsWith("../") || s.startsWith("~") || s.startsWith("file:")
    || /^[A-Za-z]:[\\/]/.test(s) || s.endsWith(".whl") || s.endsWith(".tar.gz") || s.endsWith(".zip");
}

/**
 * The argument pip installs: `magicoder.serverPackage` (empty: the release matching the extension) with the
 * plan's extras. A requirement gets them merged into its own (`magicoder-lsp[cpu]==0.1.0`), a wheel or a
 * folder appended (`/wheels/magicoder_lsp-0.1.0-py3-none-any.whl[cpu]`), a URL becomes a direct reference
 * (`magicoder-lsp[cpu] @ https://…`).
 */
export function packageSpec(setting: string, version: string, extras: readonly string[], home = os.homedir()): string {
  const spec = setting.trim() || defaultPackage(version);
  if (/^[a-z+]+:\/\//i.test(spec) && !spec.startsWith("file:")) return `${PACKAGE}[${merged(undefined, extras)}] @ ${spec}`;
  if (isPathSpec(spec)) {
    let file = spec.startsWith("file://") ? spec.slice("file://".length) : spec;
    const bracket = /\[([^\]]*)\]$/.exec(file);
    if (bracket) file = file.slice(0, bracket.index);
    if (file === "~" || file.startsWith("~/")) file = path.join(home, file.slice(1));
    return `${path.resolve(file)}[${merged(bracket?.[1], extras)}]`;
  }
  const match = REQUIREMENT.exec(spec);
  if (!match) return spec;
  const [, name, existing, rest] = match;
  return `${name}[${merged(existing, extras)}]${rest ? rest.trim() : ""}`;
}

/** `python -m pip install …` for the spec: no prompts, no version check, the log line by line. */
export function pipInstallArgs(spec: string): string[] {
  return ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", spec];
}

/** `3.11.7` → [3, 11, 7]; undefined for anything else. */
export function parsePythonVersion(text: string): [number, number, number] | undefined {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

export function versionOk(version: readonly number[]): boolean {
  return version[0] > MIN_PYTHON[0] || (version[0] === MIN_PYTHON[0] && version[1] >= MIN_PYTHON[1]);
}

/** What probing an interpreter found: its version, and whether it can make a virtual environment with pip. */
export interface Probe {
  version?: string;
  venv: boolean;
  error?: string;
}

/** The script run by each candidate Python: its version, and whether `venv` and `ensurepip` import. */
export const PROBE_SCRIPT = [
  "import sys",
  "print('%d.%d.%d' % sys.version_info[:3])",
  "try:",
  "    import venv, ensurepip",
  "    print('venv ok')",
  "except Exception as exc:",
  "    print('venv missing: %s' % exc)",
].join("\n");

/** Parses PROBE_SCRIPT's output. */
export function parseProbe(stdout: string): Probe {
  const [first = "", second = ""] = stdout.trim().split("\n");
  const version = parsePythonVersion(first) ? first.trim() : undefined;
  return { version, venv: second.trim() === "venv ok", error: second.startsWith("venv missing") ? second.trim() : undefined };
}

export interface BasePythonSearch {
  /** The Python extension's interpreters (the active one first), when that extension is installed. */
  pythonExtension: () => Promise<string[]>;
  /** A command on PATH. */
  which: (command: string) => string | undefined;
  probe: (python: string) => Promise<Probe>;
}

export type BasePython = { python: string; version: string; source: string } | { error: string; tried: string[] };

/** Commands tried on PATH after the Python extension's interpreters. */
export const PATH_PYTHONS = ["python3", "python3.13", "python3.12", "python3.11", "python3.10", "python"];

/**
 * The first Python >= 3.10 that can make a virtual environment with pip: the Python extension's interpreters,
 * then python3 (and versioned names) on PATH. An error naming what was tried and what to install otherwise.
 */
export async function findBasePython(search: BasePythonSearch): Promise<BasePython> {
  const candidates: { python: string; source: string }[] = [];
  for (const python of await search.pythonExtension().catch(() => [])) candidates.push({ python, source: "Python extension" });
  for (const command of PATH_PYTHONS) {
    const found = search.which(command);
    if (found) candidates.push({ python: found, source: "PATH" });
  }
  const tried: string[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (seen.has(c.python)) continue;
    seen.add(c.python);
    const probe = await search.probe(c.python);
    const version = probe.version ? parsePythonVersion(probe.version) : undefined;
    if (!version) {
      tried.push(`${c.python} (${c.source}): ${probe.error ?? "does not run"}`);
    } else if (!versionOk(version)) {
      tried.push(`${c.python} (${c.source}): Python ${probe.version}, older than ${MIN_PYTHON.join(".")}`);
    } else if (!probe.venv) {
      tried.push(`${c.python} (${c.source}): Python ${probe.version} without venv/ensurepip (${probe.error ?? "missing"})`);
    } else {
      return { python: c.python, version: probe.version!, source: c.source };
    }
  }
  const what = tried.length ? "no usable Python 3.10 or newer was found" : "no Python was found";
  return {
    error:
      `Magicoder: ${what}. Install Python ${MIN_PYTHON.join(".")} or newer with its venv module (Debian and Ubuntu: ` +
      "`sudo apt install python3 python3-venv`; elsewhere: python.org or your package manager), or pick one with " +
      "the Python extension, then run Magicoder: Set Up Server again.",
    tried,
  };
}

/** The folder that holds the managed environments, inside the extension's global storage. */
export function envsRoot(storage: string): string {
  return path.join(storage, "envs");
}

/** A new environment's folder name, sortable by time: `env-20260101-120000-123`. */
export function envName(now: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `env-${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}-${pad(now.getMilliseconds(), 3)}`;
}

/** The interpreter of a virtual environment. */
export function venvPython(env: string, platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? path.join(env, "Scripts", "python.exe") : path.join(env, "bin", "python");
}

/** The managed environment an interpreter path belongs to (undefined when it is not one of ours). */
export function managedEnvOf(python: string, storage: string): string | undefined {
  if (!python) return undefined;
  const rel = path.relative(envsRoot(storage), python);
  if (!rel || rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
  return path.join(envsRoot(storage), rel.split(path.sep)[0]);
}

/** The marker a finished environment holds: what was installed into it (EnvRecord), as JSON. */
export const READY_FILE = "magicoder-env.json";

export interface EnvRecord {
  spec: string;
  extras: string[];
  basePython: string;
  pythonVersion: string;
  created: string;
}

/**
 * Unfinished environment folders (no READY_FILE) older than `staleMs`: setups that were killed. A younger one may be
 * another window's, still being built; finished ones are removed only when a new one replaces them.
 */
export function staleEnvs(entries: { name: string; ready: boolean; ageMs: number }[], staleMs = 6 * 3600_000): string[] {
  return entries.filter((e) => e.name.startsWith("env-") && !e.ready && e.ageMs > staleMs).map((e) => e.name);
}

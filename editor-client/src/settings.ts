// The `magicoder.*` settings, read into a typed object and mapped to the server's
// initializationOptions (camelCase keys). Pure: no runtime dependency on the vscode module.
import * as os from "node:os";
import * as path from "node:path";

export const SECTION = "magicoder";

export type Device = "auto" | "cpu" | "cuda";
export type LogLevel = "debug" | "info" | "warning" | "error";

export interface Settings {
  pythonPath: string; // "" = discover
  model: string; // "" = the server's $MAGICODER_MODEL
  device: Device;
  maxNewTokens: number;
  temperature: number;
  contextBudget: number;
  threads: number | null;
  inline: { enabled: boolean; debounceMs: number; maxNewTokens: number; contextTokens: number };
  previewEdits: boolean;
  logLevel: LogLevel;
}

export const DEFAULTS: Settings = {
  pythonPath: "",
  model: "",
  device: "auto",
  maxNewTokens: 256,
  temperature: 0,
  contextBudget: 4096,
  threads: null,
  inline: { enabled: true, debounceMs: 150, maxNewTokens: 48, contextTokens: 1024 },
  previewEdits: false,
  logLevel: "info",
};

/** What the server is started with: the interpreter setting and its initializationOptions. */
export interface Launch {
  pythonPath: string;
  options: InitializationOptions;
}

export interface InitializationOptions {
  model?: string;
  device: Device;
  maxNewTokens: number;
  temperature: number;
  contextBudget: number;
  threads?: number;
  inlineEnabled: boolean;
  inlineMaxNewTokens: number;
  inlineContextTokens: number;
  debounceMs: number;
  previewEdits: boolean;
  logLevel: LogLevel;
}

/** Reads one setting below `magicoder.` (e.g. "inline.enabled"); undefined when unset. */
export type Getter = (key: string) => unknown;

export interface PathContext {
  workspaceFolder?: string;
  home?: string;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === "string" && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

function integer(value: unknown, fallback: number, min: number): number {
  return typeof value === "number" && Number.isInteger(value) && value >= min ? value : fallback;
}

function number(value: unknown, fallback: number, min: number, max: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= min && value <= max ? value : fallback;
}

function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === "boolean" ? value : fallback;
}

/** `~` and `${workspaceFolder}` / `${userHome}` expanded; a relative path is taken from the workspace. */
export function resolvePath(value: string, ctx: PathContext = {}): string {
  const home = ctx.home ?? os.homedir();
  let out = value.trim();
  if (!out) return "";
  out = out.replace(/\$\{userHome\}/g, home);
  if (ctx.workspaceFolder) out = out.replace(/\$\{workspaceFolder\}/g, ctx.workspaceFolder);
  if (out === "~" || out.startsWith("~/")) out = path.join(home, out.slice(1));
  // A bare command name (python3) stays as is: it is looked up on PATH.
  if (!path.isAbsolute(out) && out.includes("/") && ctx.workspaceFolder) out = path.join(ctx.workspaceFolder, out);
  return out;
}

/** Typed settings; a value of the wrong type or out of range falls back to its default. */
export function readSettings(get: Getter, ctx: PathContext = {}): Settings {
  const d = DEFAULTS;
  const text = (key: string) => {
    const v = get(key);
    return typeof v === "string" ? resolvePath(v, ctx) : "";
  };
  const threads = get("threads");
  return {
    pythonPath: text("pythonPath"),
    model: text("model"),
    device: oneOf(get("device"), ["auto", "cpu", "cuda"] as const, d.device),
    maxNewTokens: integer(get("maxNewTokens"), d.maxNewTokens, 1),
    temperature: number(get("temperature"), d.temperature, 0, 2),
    contextBudget: integer(get("contextBudget"), d.contextBudget, 1),
    threads: threads === null || threads === undefined ? null : integer(threads, 0, 1) || null,
    inline: {
      enabled: bool(get("inline.enabled"), d.inline.enabled),
      debounceMs: integer(get("inline.debounceMs"), d.inline.debounceMs, 0),
      maxNewTokens: integer(get("inline.maxNewTokens"), d.inline.maxNewTokens, 1),
      contextTokens: integer(get("inline.contextTokens"), d.inline.contextTokens, 1),
    },
    previewEdits: bool(get("previewEdits"), d.previewEdits),
    logLevel: oneOf(get("logLevel"), ["debug", "info", "warning", "error"] as const, d.logLevel),
  };
}

export function initializationOptions(s: Settings): InitializationOptions {
  return {
    ...(s.model ? { model: s.model } : {}),
    device: s.device,
    maxNewTokens: s.maxNewTokens,
    temperature: s.temperature,
    contextBudget: s.contextBudget,
    ...(s.threads ? { threads: s.threads } : {}),
    inlineEnabled: s.inline.enabled,
    inlineMaxNewTokens: s.inline.maxNewTokens,
    inlineContextTokens: s.inline.contextTokens,
    debounceMs: s.inline.debounceMs,
    previewEdits: s.previewEdits,
    logLevel: s.logLevel,
  };
}

export function launchOf(s: Settings): Launch {
  return { pythonPath: s.pythonPath, options: initializationOptions(s) };
}

/** The server's --log-level argument. */
export function serverLogLevel(level: LogLevel): string {
  return level.toUpperCase();
}

/** The server applies settings live (workspace/didChangeConfiguration); only a new interpreter restarts it. */
export function restartNeeded(running: Launch, wanted: Launch): boolean {
  return running.pythonPath !== wanted.pythonPath;
}

/** The initialization options that differ, as "key=value" (the server is sent the new ones). */
export function changedOptions(running: Launch, wanted: Launch): string[] {
  const a = running.options as unknown as Record<string, unknown>;
  const b = wanted.options as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((key) => a[key] !== b[key]).map((key) => `${key}=${JSON.stringify(b[key] ?? null)}`);
}

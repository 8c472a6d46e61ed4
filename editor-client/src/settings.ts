// The `magicoder.*` settings, read into a typed object and mapped to the server's
// initializationOptions (camelCase keys). Defaults and limits are package.json's
// `contributes.configuration`, the one schema. Pure: no runtime dependency on the vscode module.
import * as os from "node:os";
import * as path from "node:path";
import { contributes } from "../package.json";

export const SECTION = "magicoder";

/** One setting as package.json declares it (the JSON-schema keywords the extension checks). */
export interface SettingSchema {
  type: string | string[];
  default: unknown;
  minimum?: number;
  maximum?: number;
  enum?: string[];
}

/** package.json's settings by full name (`magicoder.inline.enabled`). */
export const SCHEMA: Readonly<Record<string, SettingSchema>> = contributes.configuration.properties;

export type Device = "auto" | "cpu" | "cuda";
export type Backend = "local" | "openai";
export type LogLevel = "debug" | "info" | "warning" | "error";

export interface Settings {
  pythonPath: string; // "" = discover; user-level only
  serverPackage: string; // "" = the release matching the extension (Set Up Server); user-level only
  model: string; // "" = the server's $MAGICODER_MODEL
  device: Device;
  backend: Backend; // user-level only (USER_ONLY)
  endpoint: string; // "" = not set; user-level only
  remoteModel: string; // "" = the first model the endpoint lists
  tokenizer: string; // "" = the one in the model folder
  caBundle: string; // "" = the system's CAs only; user-level only
  allowInsecure: boolean; // user-level only
  maxNewTokens: number;
  temperature: number;
  contextBudget: number;
  threads: number | null;
  inline: { enabled: boolean; debounceMs: number; maxNewTokens: number; contextTokens: number; snippets: boolean };
  previewEdits: boolean;
  logLevel: LogLevel;
}

/** What the server is started with: the interpreter setting and its initializationOptions. */
export interface Launch {
  pythonPath: string;
  options: InitializationOptions;
}

export interface InitializationOptions {
  model?: string;
  device: Device;
  backend: Backend;
  endpoint: string;
  remoteModel: string;
  tokenizer: string;
  caBundle: string;
  allowInsecure: boolean;
  maxNewTokens: number;
  temperature: number;
  contextBudget: number;
  threads?: number;
  inlineEnabled: boolean;
  inlineMaxNewTokens: number;
  inlineContextTokens: number;
  inlineSnippets: boolean;
  debounceMs: number;
  previewEdits: boolean;
  logLevel: LogLevel;
}

/**
 * Which value of a setting to read: "effective" (workspace folder over workspace over user, as
 * `config.get`), or "user" (the user-level value alone, `config.inspect(key).globalValue`).
 */
export type Level = "effective" | "user";

/** Reads one setting below `magicoder.` (e.g. "inline.enabled") at a level; undefined when unset there. */
export type Getter = (key: string, level: Level) => unknown;

/**
 * Settings read from the user's own settings only, never from workspace or folder settings: a cloned
 * repository must not send the user's code and API key elsewhere, nor name the program the extension runs
 * or the package it installs (package.json also declares them `machine`-scoped and restricted in untrusted
 * workspaces).
 */
export const USER_ONLY: readonly string[] = ["pythonPath", "serverPackage", "backend", "endpoint", "allowInsecure", "caBundle"];

/** The part of vscode.WorkspaceConfiguration (of the `magicoder` section) that settings are read with. */
export interface ConfigReader {
  get(key: string): unknown;
  inspect(key: string): { globalValue?: unknown } | undefined;
}

/** A Getter over VS Code's configuration: the user level is `inspect(key).globalValue` (user and remote user settings). */
export function getterOf(config: ConfigReader): Getter {
  return (key, level) => (level === "user" ? config.inspect(key)?.globalValue : config.get(key));
}

export interface PathContext {
  workspaceFolder?: string;
  home?: string;
}

/** The schema of `magicoder.<key>`; throws for a key package.json does not declare. */
export function schemaOf(key: string): SettingSchema {
  const found = SCHEMA[`${SECTION}.${key}`];
  if (!found) throw new Error(`package.json declares no setting ${SECTION}.${key}`);
  return found;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    default:
      return typeof value === type; // string, boolean
  }
}

/** Whether `value` is one the schema allows: its type, minimum, maximum and enum. */
export function allows(schema: SettingSchema, value: unknown): boolean {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (!types.some((type) => hasType(value, type))) return false;
  const { minimum = -Infinity, maximum = Infinity } = schema;
  if (typeof value === "number" && (value < minimum || value > maximum)) return false;
  return schema.enum === undefined || schema.enum.includes(value as string);
}

/** `magicoder.<key>` as set (USER_ONLY keys: at user level), or its package.json default when unset or not allowed. */
function valueOf<T>(get: Getter, key: string): T {
  const schema = schemaOf(key);
  const value = get(key, USER_ONLY.includes(key) ? "user" : "effective");
  return (allows(schema, value) ? value : schema.default) as T;
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

/** Typed settings; a value that package.json's schema does not allow falls back to its default. */
export function readSettings(get: Getter, ctx: PathContext = {}): Settings {
  const read = <T>(key: string) => valueOf<T>(get, key);
  return {
    pythonPath: resolvePath(read("pythonPath"), ctx),
    serverPackage: read<string>("serverPackage").trim(),
    model: resolvePath(read("model"), ctx),
    device: read("device"),
    backend: read("backend"),
    endpoint: read<string>("endpoint").trim(),
    remoteModel: read<string>("remoteModel").trim(),
    tokenizer: resolvePath(read("tokenizer"), ctx),
    caBundle: resolvePath(read("caBundle"), ctx),
    allowInsecure: read("allowInsecure"),
    maxNewTokens: read("maxNewTokens"),
    temperature: read("temperature"),
    contextBudget: read("contextBudget"),
    threads: read("threads"),
    inline: {
      enabled: read("inline.enabled"),
      debounceMs: read("inline.debounceMs"),
      maxNewTokens: read("inline.maxNewTokens"),
      contextTokens: read("inline.contextTokens"),
      snippets: read("inline.snippets"),
    },
    previewEdits: read("previewEdits"),
    logLevel: read("logLevel"),
  };
}

/** Every setting at its package.json default. */
export const DEFAULTS: Settings = readSettings(() => undefined);

export function initializationOptions(s: Settings): InitializationOptions {
  return {
    ...(s.model ? { model: s.model } : {}),
    device: s.device,
    // Always sent, "" included (the server takes "" for unset): a cleared setting must reach it.
    backend: s.backend,
    endpoint: s.endpoint,
    remoteModel: s.remoteModel,
    tokenizer: s.tokenizer,
    caBundle: s.caBundle,
    allowInsecure: s.allowInsecure,
    maxNewTokens: s.maxNewTokens,
    temperature: s.temperature,
    contextBudget: s.contextBudget,
    ...(s.threads ? { threads: s.threads } : {}),
    inlineEnabled: s.inline.enabled,
    inlineMaxNewTokens: s.inline.maxNewTokens,
    inlineContextTokens: s.inline.contextTokens,
    inlineSnippets: s.inline.snippets,
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

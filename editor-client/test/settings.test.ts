import assert from "node:assert/strict";
import { test } from "node:test";
import { capabilities, contributes } from "../package.json";
import {
  Backend,
  ConfigReader,
  DEFAULTS,
  Device,
  LogLevel,
  SCHEMA,
  SECTION,
  Settings,
  initializationOptions,
  launchOf,
  changedOptions,
  getterOf,
  readSettings,
  resolvePath,
  restartNeeded,
  schemaOf,
  serverLogLevel,
  USER_ONLY,
} from "../src/settings";
import example from "./settings.example.json";

const from = (values: Record<string, unknown>) => (key: string) => values[key];
const ctx = { workspaceFolder: "/ws", home: "/home/me" };
/** package.json's settings without the `magicoder.` prefix ("inline.enabled"). */
const KEYS = Object.keys(SCHEMA).map((name) => name.slice(SECTION.length + 1));

/** A setting of the typed object by its package.json key ("inline.enabled" is settings.inline.enabled). */
function valueAt(settings: Settings, key: string): unknown {
  return key.split(".").reduce<unknown>((value, part) => (value as Record<string, unknown>)[part], settings);
}

function leafKeys(value: object, prefix = ""): string[] {
  return Object.entries(value).flatMap(([key, v]) =>
    v !== null && typeof v === "object" ? leafKeys(v, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

/** The value `key` reads as when set to `value`. */
const readAs = (key: string, value: unknown) => valueAt(readSettings(from({ [key]: value })), key);

test("the settings schema is package.json's own object, not a copy", () => {
  assert.equal(SCHEMA, contributes.configuration.properties);
  assert.throws(() => schemaOf("nope"), /package.json declares no setting magicoder.nope/);
});

test("every package.json setting is read, and unset gives its package.json default", () => {
  assert.deepEqual(leafKeys(DEFAULTS).sort(), [...KEYS].sort());
  for (const key of KEYS) assert.deepEqual(valueAt(DEFAULTS, key), schemaOf(key).default, key);
  assert.deepEqual(readSettings(from({}), ctx), DEFAULTS);
});

test("minimums, maximums and choices are package.json's", () => {
  for (const key of KEYS) {
    const { default: fallback, type, minimum, maximum, enum: choices } = schemaOf(key);
    const step = type === "number" ? 0.001 : 1;
    if (minimum !== undefined) {
      assert.equal(readAs(key, minimum), minimum, key);
      assert.deepEqual(readAs(key, minimum - step), fallback, key);
    }
    if (maximum !== undefined) {
      assert.equal(readAs(key, maximum), maximum, key);
      assert.deepEqual(readAs(key, maximum + step), fallback, key);
    }
    for (const choice of choices ?? []) assert.equal(readAs(key, choice), choice, key);
    if (choices) assert.equal(readAs(key, "none of them"), fallback, key);
  }
  assert.deepEqual(schemaOf("device").enum, ["auto", "cpu", "cuda"] satisfies Device[]);
  assert.deepEqual(schemaOf("backend").enum, ["local", "openai"] satisfies Backend[]);
  assert.deepEqual(schemaOf("logLevel").enum, ["debug", "info", "warning", "error"] satisfies LogLevel[]);
});

test("a limit changed in package.json changes what is accepted", () => {
  const budget = schemaOf("contextBudget");
  const minimum = budget.minimum;
  try {
    budget.minimum = 5000;
    assert.equal(readSettings(from({ contextBudget: 4999 })).contextBudget, budget.default);
    assert.equal(readSettings(from({ contextBudget: 5000 })).contextBudget, 5000);
  } finally {
    budget.minimum = minimum;
  }
});

test("every setting maps to its camelCase initialization option (settings.example.json)", () => {
  const values = Object.fromEntries(Object.entries(example.settings).map(([name, v]) => [name.slice(SECTION.length + 1), v]));
  assert.deepEqual(Object.keys(values).sort(), [...KEYS].sort());
  const s = readSettings(from(values), ctx);
  for (const key of KEYS) assert.notDeepEqual(valueAt(s, key), valueAt(DEFAULTS, key), `${key} is not set off its default`);
  assert.deepEqual(initializationOptions(s), example.initializationOptions);
  assert.equal(s.pythonPath, "/venv/bin/python");
  assert.equal(serverLogLevel(s.logLevel), "DEBUG");
  assert.equal(readSettings(from({ model: "~/models/magicoder" }), ctx).model, "/home/me/models/magicoder");
});

test("no model and no threads: the keys are left out (the server falls back)", () => {
  const options = initializationOptions(DEFAULTS);
  assert.equal("model" in options, false);
  assert.equal("threads" in options, false);
});

test("the remote backend's settings: package.json's defaults, always sent (\"\" is unset to the server)", () => {
  const remote = { backend: "local", endpoint: "", remoteModel: "", tokenizer: "", caBundle: "", allowInsecure: false };
  for (const [key, value] of Object.entries(remote)) {
    assert.equal(schemaOf(key).default, value, key);
    assert.equal(valueAt(DEFAULTS, key), value, key);
  }
  const options = initializationOptions(DEFAULTS) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(remote)) assert.equal(options[key], value, key);
  const s = readSettings(from({ tokenizer: "~/tok", caBundle: "${workspaceFolder}/ca.pem", endpoint: " http://a:8000/v1 " }), ctx);
  assert.equal(s.tokenizer, "/home/me/tok");
  assert.equal(s.caBundle, "/ws/ca.pem");
  assert.equal(s.endpoint, "http://a:8000/v1");
});

/** VS Code's configuration with values per level: folder over workspace over user, as config.get merges them. */
function layered(levels: { user?: Record<string, unknown>; workspace?: Record<string, unknown>; folder?: Record<string, unknown> }) {
  const reads: string[] = [];
  const config: ConfigReader = {
    get: (key) => {
      reads.push(`get ${key}`);
      return levels.folder?.[key] ?? levels.workspace?.[key] ?? levels.user?.[key];
    },
    inspect: (key) => {
      reads.push(`inspect ${key}`);
      return { globalValue: levels.user?.[key], workspaceValue: levels.workspace?.[key], workspaceFolderValue: levels.folder?.[key] };
    },
  };
  return { get: getterOf(config), reads };
}

test("pythonPath and serverPackage: a folder cannot name the program the extension runs, nor what it installs", () => {
  const evil = { pythonPath: "${workspaceFolder}/evil/python", serverPackage: "./evil" };
  for (const levels of [{ workspace: evil }, { folder: evil }]) {
    const { get, reads } = layered(levels);
    const s = readSettings(get, ctx);
    assert.deepEqual([s.pythonPath, s.serverPackage], ["", ""]);
    assert.equal(reads.includes("get pythonPath") || reads.includes("get serverPackage"), false);
  }
  const user = { pythonPath: "~/venv/bin/python", serverPackage: " /wheels/magicoder_lsp-0.1.0-py3-none-any.whl " };
  const s = readSettings(layered({ user, workspace: evil }).get, ctx);
  assert.deepEqual([s.pythonPath, s.serverPackage], ["/home/me/venv/bin/python", "/wheels/magicoder_lsp-0.1.0-py3-none-any.whl"]);
  // The extension passes no workspace folder in Restricted Mode: a user's relative path is not taken from it.
  const untrusted = readSettings(layered({ user: { pythonPath: "${workspaceFolder}/.venv/bin/python", model: "models/m" } }).get, { home: "/home/me" });
  assert.deepEqual([untrusted.pythonPath, untrusted.model], ["${workspaceFolder}/.venv/bin/python", "models/m"]);
});

test("backend, endpoint, allowInsecure and caBundle: workspace and folder values are ignored, user values used", () => {
  assert.deepEqual([...USER_ONLY].sort(), ["allowInsecure", "backend", "caBundle", "endpoint", "pythonPath", "serverPackage"]);
  const evil = { backend: "openai", endpoint: "http://evil.example:8000/v1", allowInsecure: true, caBundle: "/tmp/evil.pem" };
  for (const levels of [{ workspace: evil }, { folder: evil }, { workspace: evil, folder: evil }]) {
    const { get, reads } = layered(levels);
    const s = readSettings(get, ctx);
    assert.deepEqual([s.backend, s.endpoint, s.allowInsecure, s.caBundle], ["local", "", false, ""]);
    for (const key of USER_ONLY) assert.equal(reads.includes(`get ${key}`), false, `${key} read with config.get`);
  }
  const user = { backend: "openai", endpoint: "https://gpu-box:8000/v1", allowInsecure: false, caBundle: "~/ca.pem" };
  const s = readSettings(layered({ user, workspace: evil, folder: evil }).get, ctx);
  assert.deepEqual([s.backend, s.endpoint, s.allowInsecure, s.caBundle], ["openai", "https://gpu-box:8000/v1", false, "/home/me/ca.pem"]);
  const options = initializationOptions(s);
  assert.equal(options.endpoint, "https://gpu-box:8000/v1");
  assert.equal(options.allowInsecure, false);
  // A user-level value of the wrong type is its default, not the workspace's.
  assert.equal(readSettings(layered({ user: { backend: "gpu" }, workspace: { backend: "openai" } }).get).backend, "local");
});

test("remoteModel, tokenizer and the other settings: the workspace's value wins, as VS Code merges them", () => {
  const { get } = layered({
    user: { remoteModel: "a", tokenizer: "/user/tok", maxNewTokens: 100 },
    workspace: { remoteModel: "b", tokenizer: "/ws/tok", maxNewTokens: 200 },
  });
  const s = readSettings(get, ctx);
  assert.deepEqual([s.remoteModel, s.tokenizer, s.maxNewTokens], ["b", "/ws/tok", 200]);
});

test("the security settings are machine-scoped and restricted in untrusted workspaces", () => {
  const properties = contributes.configuration.properties as Record<string, { scope?: string }>;
  for (const key of USER_ONLY) assert.equal(properties[`${SECTION}.${key}`].scope, "machine", key);
  for (const key of ["model", "remoteModel", "tokenizer"]) assert.equal(properties[`${SECTION}.${key}`].scope, "machine-overridable", key);
  const restricted = capabilities.untrustedWorkspaces.restrictedConfigurations;
  assert.equal(capabilities.untrustedWorkspaces.supported, "limited");
  // Every setting that names a program, a package, a folder or an endpoint (and the backend that uses it).
  const named = [...USER_ONLY, "model", "tokenizer"];
  assert.deepEqual([...restricted].sort(), named.map((key) => `${SECTION}.${key}`).sort());
  assert.ok(contributes.commands.some((c) => c.command === "magicoder.setApiKey" && c.title === "Set API Key" && c.category === "Magicoder"));
});

test("values of the wrong type or out of range fall back to the defaults", () => {
  const s = readSettings(
    from({
      device: "tpu",
      maxNewTokens: "many",
      temperature: 7,
      threads: 0,
      "inline.enabled": "yes",
      "inline.debounceMs": -5,
      "inline.maxNewTokens": 2.5,
      logLevel: "loud",
      model: 42,
    }),
    ctx,
  );
  assert.deepEqual(s, DEFAULTS);
});

test("paths: ~, ${workspaceFolder}, ${userHome}, relative paths and bare commands", () => {
  assert.equal(resolvePath("~/py/bin/python", ctx), "/home/me/py/bin/python");
  assert.equal(resolvePath("${workspaceFolder}/.venv/bin/python", ctx), "/ws/.venv/bin/python");
  assert.equal(resolvePath("${userHome}/m", ctx), "/home/me/m");
  assert.equal(resolvePath(".venv/bin/python", ctx), "/ws/.venv/bin/python");
  assert.equal(resolvePath("python3.12", ctx), "python3.12");
  assert.equal(resolvePath("  ", ctx), "");
});

test("only a new interpreter restarts the server; other changes are sent to it", () => {
  const base = launchOf(DEFAULTS);
  const withSettings = (patch: Partial<typeof DEFAULTS>) => launchOf({ ...DEFAULTS, ...patch });
  const withInline = (patch: Partial<typeof DEFAULTS.inline>) => withSettings({ inline: { ...DEFAULTS.inline, ...patch } });
  assert.equal(restartNeeded(base, base), false);
  assert.deepEqual(changedOptions(base, base), []);
  assert.deepEqual(changedOptions(base, withSettings({ maxNewTokens: 64, model: "/m" })), ["maxNewTokens=64", "model=\"/m\""]);
  assert.deepEqual(changedOptions(withSettings({ threads: 2 }), base), ["threads=null"]);
  assert.equal(restartNeeded(base, withSettings({ pythonPath: "/py" })), true);
  for (const wanted of [
    withSettings({ model: "/m" }),
    withSettings({ backend: "openai" }),
    withSettings({ endpoint: "http://a:8000/v1" }),
    withSettings({ remoteModel: "m" }),
    withSettings({ tokenizer: "/t" }),
    withSettings({ caBundle: "/ca.pem" }),
    withSettings({ allowInsecure: true }),
    withSettings({ device: "cuda" }),
    withSettings({ temperature: 0.5 }),
    withSettings({ threads: 2 }),
    withSettings({ logLevel: "debug" }),
    withSettings({ previewEdits: true }),
    withInline({ enabled: false }),
    withInline({ debounceMs: 999 }),
    withInline({ maxNewTokens: 10 }),
    withInline({ snippets: true }),
  ]) {
    assert.equal(restartNeeded(base, wanted), false);
    assert.equal(changedOptions(base, wanted).length, 1, JSON.stringify(wanted.options));
  }
});

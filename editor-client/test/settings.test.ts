import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULTS,
  initializationOptions,
  launchOf,
  changedOptions,
  readSettings,
  resolvePath,
  restartNeeded,
  serverLogLevel,
} from "../src/settings";

const from = (values: Record<string, unknown>) => (key: string) => values[key];
const ctx = { workspaceFolder: "/ws", home: "/home/me" };

test("unset settings give the defaults", () => {
  assert.deepEqual(readSettings(from({}), ctx), DEFAULTS);
});

test("every setting maps to its camelCase initialization option", () => {
  const s = readSettings(
    from({
      pythonPath: "/venv/bin/python",
      model: "~/models/magicoder",
      device: "cuda",
      maxNewTokens: 512,
      temperature: 0.2,
      contextBudget: 2048,
      threads: 4,
      "inline.enabled": false,
      "inline.debounceMs": 300,
      "inline.maxNewTokens": 32,
      "inline.contextTokens": 512,
      previewEdits: true,
      logLevel: "debug",
    }),
    ctx,
  );
  assert.deepEqual(initializationOptions(s), {
    model: "/home/me/models/magicoder",
    device: "cuda",
    maxNewTokens: 512,
    temperature: 0.2,
    contextBudget: 2048,
    threads: 4,
    inlineEnabled: false,
    inlineMaxNewTokens: 32,
    inlineContextTokens: 512,
    debounceMs: 300,
    previewEdits: true,
    logLevel: "debug",
  });
  assert.equal(s.pythonPath, "/venv/bin/python");
  assert.equal(serverLogLevel(s.logLevel), "DEBUG");
});

test("no model and no threads: the keys are left out (the server falls back)", () => {
  const options = initializationOptions(DEFAULTS);
  assert.equal("model" in options, false);
  assert.equal("threads" in options, false);
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
    withSettings({ device: "cuda" }),
    withSettings({ temperature: 0.5 }),
    withSettings({ threads: 2 }),
    withSettings({ logLevel: "debug" }),
    withSettings({ previewEdits: true }),
    withInline({ enabled: false }),
    withInline({ debounceMs: 999 }),
    withInline({ maxNewTokens: 10 }),
  ]) {
    assert.equal(restartNeeded(base, wanted), false);
    assert.equal(changedOptions(base, wanted).length, 1, JSON.stringify(wanted.options));
  }
});

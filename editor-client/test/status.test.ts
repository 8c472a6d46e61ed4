import assert from "node:assert/strict";
import { test } from "node:test";
import { endpointLabel, formatRate, providerLabel, SHOW_LOGS, StatusModel } from "../src/status";

const ready = { state: "ready", model: "magicoder-tiny", provider: "CPUExecutionProvider" };

test("provider names and rates", () => {
  assert.equal(providerLabel("CPUExecutionProvider"), "CPU");
  assert.equal(providerLabel("CUDAExecutionProvider"), "CUDA");
  assert.equal(providerLabel(null), undefined);
  assert.equal(formatRate(61.72), "61.7 tok/s");
  assert.equal(formatRate(275.9), "276 tok/s");
});

test("starting, then loading, then ready with the provider", () => {
  const s = new StatusModel();
  assert.equal(s.view().text, "$(loading~spin) Magicoder");
  assert.match(s.view().tooltip, /starting the server/);
  s.setClient("running");
  s.update({ state: "loading", model: null, provider: null });
  assert.equal(s.view().text, "$(loading~spin) Magicoder loading…");
  s.update(ready);
  const view = s.view();
  assert.equal(view.text, "$(sparkle) Magicoder CPU");
  assert.equal(view.error, false);
  assert.match(view.tooltip, /Model: magicoder-tiny/);
  assert.match(view.tooltip, /Runs on: CPU/);
});

test("busy spins; the last tok/s stays after the answer", () => {
  const s = new StatusModel();
  s.setClient("running");
  s.update({ ...ready, state: "busy" });
  assert.equal(s.view().text, "$(loading~spin) Magicoder CPU");
  s.update({ ...ready, tokensPerSecond: 61.72 });
  assert.equal(s.view().text, "$(sparkle) Magicoder CPU · 61.7 tok/s");
  s.update({ ...ready, state: "busy" });
  assert.equal(s.view().text, "$(loading~spin) Magicoder CPU · 61.7 tok/s");
  assert.match(s.view().tooltip, /Last answer: 61.7 tok\/s/);
});

test("errors: red, the message in the tooltip, a click shows the logs", () => {
  const s = new StatusModel();
  s.setClient("running");
  s.update({ state: "error", model: null, provider: null, message: "cannot load the model from /m" });
  const view = s.view();
  assert.equal(view.text, "$(error) Magicoder");
  assert.equal(view.error, true);
  assert.equal(view.command, SHOW_LOGS);
  assert.match(view.tooltip, /cannot load the model from \/m/);
  assert.match(view.tooltip, /Click to show the logs/);
  const failed = new StatusModel();
  failed.setClient("failed", "no Python has magicoder-lsp");
  assert.equal(failed.view().error, true);
  assert.match(failed.view().tooltip, /cannot start the server[\s\S]*no Python has magicoder-lsp/);
});

test("inline completions off are shown; malformed notifications are ignored", () => {
  const s = new StatusModel();
  s.setClient("running");
  s.update(ready);
  s.inlineEnabled = false;
  assert.equal(s.view().text, "$(sparkle) Magicoder CPU $(circle-slash)");
  assert.match(s.view().tooltip, /Inline completions: off/);
  assert.equal(s.update({ state: "sleeping" }), false);
  assert.equal(s.update(null), false);
  assert.equal(s.view().text, "$(sparkle) Magicoder CPU $(circle-slash)");
});

test("a stopped client forgets the server's state", () => {
  const s = new StatusModel();
  s.setClient("running");
  s.update(ready);
  s.setClient("stopped", "The server stopped: see the logs.");
  assert.equal(s.view().text, "$(error) Magicoder");
});

test("a remote server: `remote` in the status bar, its endpoint in the tooltip", () => {
  assert.equal(providerLabel("openai"), "remote");
  const s = new StatusModel();
  s.setClient("running");
  s.update({ state: "ready", model: "Magicoder-S-DS-6.7B", provider: "openai", endpoint: "https://gpu-box:8000/v1" });
  const view = s.view();
  assert.equal(view.text, "$(sparkle) Magicoder remote");
  assert.match(view.tooltip, /Runs on: remote/);
  assert.match(view.tooltip, /^Endpoint: https:\/\/gpu-box:8000\/v1$/m);
  s.update(ready);
  assert.doesNotMatch(s.view().tooltip, /Endpoint:/);
  assert.equal(endpointLabel("https://me:pw@gpu-box:8000/v1"), "https://gpu-box:8000/v1");
  assert.equal(endpointLabel("not a url"), "not a url");
});

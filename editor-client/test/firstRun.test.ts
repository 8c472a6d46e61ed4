import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import pkg from "../package.json";
import { contextKeys, Facts, GET_MODEL, nextStep, NOTICES, OPEN_SAMPLE, SAMPLE, SAMPLE_SELECTION, SETUP_SERVER, shouldNotify, WALKTHROUGH } from "../src/firstRun";
import { StatusModel } from "../src/status";

const CLIENT = path.resolve(__dirname, "..", "..");
const ready: Facts = { serverFound: true, backend: "local", model: "/m", modelEnv: "", endpoint: "" };

test("the next step: the server, then the model (local) or the endpoint (team), then nothing", () => {
  assert.equal(nextStep({ ...ready, serverFound: false, model: "" }), "server");
  assert.equal(nextStep({ ...ready, serverFound: false }), "server");
  assert.equal(nextStep({ ...ready, model: "" }), "model");
  assert.equal(nextStep({ ...ready, model: "", modelEnv: "/env-model" }), undefined); // the server reads $MAGICODER_MODEL
  assert.equal(nextStep(ready), undefined);
  assert.equal(nextStep({ ...ready, backend: "openai", model: "" }), "endpoint");
  assert.equal(nextStep({ ...ready, backend: "openai", model: "", endpoint: "https://gpu:8000/v1" }), undefined);
});

test("one notification per step, ever: not on every start", () => {
  assert.equal(shouldNotify("server", []), true);
  assert.equal(shouldNotify("server", ["server"]), false);
  assert.equal(shouldNotify("model", ["server"]), true);
  assert.equal(shouldNotify(undefined, []), false);
});

test("the walkthrough's context keys", () => {
  assert.deepEqual(contextKeys({ ...ready, serverFound: false }), {
    "magicoder.serverReady": false,
    "magicoder.modelReady": false,
    "magicoder.endpointReady": false,
  });
  assert.deepEqual(contextKeys(ready), { "magicoder.serverReady": true, "magicoder.modelReady": true, "magicoder.endpointReady": false });
  assert.deepEqual(contextKeys({ ...ready, backend: "openai", endpoint: "http://a/v1" }), {
    "magicoder.serverReady": true,
    "magicoder.modelReady": false,
    "magicoder.endpointReady": true,
  });
});

test("the notices, the walkthrough and the commands agree with package.json", () => {
  const commands = pkg.contributes.commands.map((c) => c.command);
  for (const command of [SETUP_SERVER, GET_MODEL, OPEN_SAMPLE]) assert.ok(commands.includes(command), command);
  for (const notice of Object.values(NOTICES)) assert.ok(commands.includes(notice.action.command), notice.action.command);
  const [walkthrough] = pkg.contributes.walkthroughs;
  assert.equal(WALKTHROUGH, `${pkg.publisher}.${pkg.name}#${walkthrough.id}`);
  assert.deepEqual(walkthrough.steps.map((s) => s.id), ["server", "model", "endpoint", "try"]);
  const keys = Object.keys(contextKeys(ready));
  for (const step of walkthrough.steps) {
    assert.ok(fs.existsSync(path.join(CLIENT, step.media.markdown)), step.media.markdown);
    const linked = [...step.description.matchAll(/\(command:([\w.]+)/g)].map((m) => m[1]);
    assert.equal(linked.length, 1, step.id);
    assert.ok(commands.includes(linked[0]), linked[0]);
    for (const event of step.completionEvents) {
      const [kind, name] = event.split(":");
      assert.ok(kind === "onContext" ? keys.includes(name) : kind === "onCommand" && commands.includes(name), event);
    }
  }
  // The walkthrough's media ship in the .vsix.
  assert.match(fs.readFileSync(path.join(CLIENT, ".vscodeignore"), "utf8"), /^!media\/walkthrough\/\*\.md$/m);
  // The team step passes its mode to Set Up Server.
  assert.match(walkthrough.steps[2].description, /command:magicoder\.setupServer\?%5B%22team%22%5D/);
});

test("the sample selects its instruction comment and the function under it", () => {
  const lines = SAMPLE.split("\n");
  assert.match(lines[SAMPLE_SELECTION.start], /^# return the sum/);
  assert.match(lines[SAMPLE_SELECTION.start + 1], /^def sum_squares/);
  assert.equal(lines[SAMPLE_SELECTION.end - 1], "    return total");
});

test("the status bar shows the next step instead of an error, and a click runs it", () => {
  const s = new StatusModel();
  s.setup = "server";
  s.setClient("failed", "Magicoder: no Python interpreter was found.");
  let view = s.view();
  assert.equal(view.text, "$(tools) Magicoder: Set Up");
  assert.equal(view.error, false);
  assert.equal(view.command, SETUP_SERVER);
  s.setup = "model";
  s.setClient("running");
  s.update({ state: "error", model: null, provider: null, message: "no model folder is configured" });
  view = s.view();
  assert.equal(view.text, "$(cloud-download) Magicoder: Get Model");
  assert.equal(view.error, false);
  assert.equal(view.command, GET_MODEL);
  s.setup = "endpoint";
  assert.equal(s.view().command, SETUP_SERVER);
  // Once the step is done, the state is the server's again (an error is an error).
  s.setup = undefined;
  assert.equal(s.view().error, true);
  s.update({ state: "ready", model: "m", provider: "CPUExecutionProvider" });
  assert.equal(s.view().text, "$(sparkle) Magicoder CPU");
  // A model being loaded is not hidden by a stale step.
  s.setup = "model";
  s.update({ state: "loading", model: null, provider: null });
  assert.equal(s.view().text, "$(loading~spin) Magicoder loading…");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { apiKeyParams, keyProblem, originOf, secretKey, SET_API_KEY_COMMAND, setApiKey, SetKeyEditor } from "../src/secrets";

/** A SecretStorage in memory. */
class MemorySecrets {
  readonly values = new Map<string, string>();
  async get(key: string) {
    return this.values.get(key);
  }
  async store(key: string, value: string) {
    this.values.set(key, value);
  }
  async delete(key: string) {
    this.values.delete(key);
  }
}

/** An editor whose input box answers `answer`, recording what it was asked and told. */
function editor(endpoint: string, answer: string | undefined, secrets = new MemorySecrets()) {
  const asked: Parameters<SetKeyEditor["askKey"]>[0][] = [];
  const infos: string[] = [];
  const errors: string[] = [];
  const fake: SetKeyEditor = {
    endpoint: () => endpoint,
    secrets,
    askKey: async (options) => {
      asked.push(options);
      return answer;
    },
    info: (message) => infos.push(message),
    error: (message) => errors.push(message),
  };
  return { fake, asked, infos, errors, secrets };
}

test("keys are per endpoint origin: scheme, host and port, not the path", () => {
  assert.equal(originOf("http://a:8000/v1"), "http://a:8000");
  assert.equal(originOf(" https://gpu-box:8000/v1/ "), "https://gpu-box:8000");
  assert.equal(originOf("https://gpu-box:443/v1"), "https://gpu-box");
  assert.equal(secretKey(originOf("http://a:8000/v1")!), "magicoder.apiKey:http://a:8000");
  assert.equal(secretKey(originOf("http://a:8000/v1")!), secretKey(originOf("http://a:8000/other")!));
  assert.notEqual(secretKey(originOf("http://a:8000/v1")!), secretKey(originOf("http://b:8000")!));
  assert.notEqual(secretKey(originOf("http://a:8000")!), secretKey(originOf("https://a:8000")!));
  assert.notEqual(secretKey(originOf("http://a:8000")!), secretKey(originOf("http://a:8001")!));
  for (const bad of ["", "gpu-box:8000", "file:///etc/passwd", "not a url"]) assert.equal(originOf(bad), undefined, bad);
});

test("keys with a newline or another control character are refused", () => {
  assert.equal(keyProblem("sk-abc123_-.~+/="), undefined);
  for (const bad of ["sk\nabc", "sk-abc\n", "sk\r\nX-Evil: 1", "a\tb", "a\u0000b", "a\u007fb", "a\u0085b", "a\u2028b"]) {
    assert.match(keyProblem(bad) ?? "", /control character/, JSON.stringify(bad));
  }
});

test("Set API Key stores the key under the endpoint's origin, asking with a password box that names it", async () => {
  const { fake, asked, infos, errors, secrets } = editor("http://a:8000/v1", "sk-secret");
  assert.deepEqual(await setApiKey(fake), { origin: "http://a:8000", stored: true });
  assert.equal(asked.length, 1);
  assert.equal(asked[0].password, true);
  assert.equal(asked[0].ignoreFocusOut, true);
  assert.match(asked[0].prompt, /http:\/\/a:8000/);
  assert.deepEqual([...secrets.values], [["magicoder.apiKey:http://a:8000", "sk-secret"]]);
  assert.deepEqual(errors, []);
  assert.equal([...infos, ...asked.map((a) => a.prompt + a.title)].some((text) => text.includes("sk-secret")), false);
  // Another path on the same server: the same key; another server: none.
  assert.deepEqual(await apiKeyParams(secrets, "http://a:8000/other"), { origin: "http://a:8000", key: "sk-secret" });
  assert.deepEqual(await apiKeyParams(secrets, "http://b:8000"), { origin: "http://b:8000", key: null });
  assert.equal(await apiKeyParams(secrets, ""), undefined);
  assert.equal(SET_API_KEY_COMMAND, "magicoder.setApiKey");
});

test("Set API Key: a key with a newline is refused and nothing is stored", async () => {
  const secrets = new MemorySecrets();
  await secrets.store("magicoder.apiKey:http://a:8000", "old");
  const { fake, errors } = editor("http://a:8000/v1", "sk-abc\nX-Evil: 1", secrets);
  assert.equal(await setApiKey(fake), undefined);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /newline or another control character/);
  assert.equal(errors[0].includes("sk-abc"), false);
  assert.deepEqual([...secrets.values], [["magicoder.apiKey:http://a:8000", "old"]]);
});

test("Set API Key: empty deletes that origin's key only; Escape changes nothing", async () => {
  const secrets = new MemorySecrets();
  await secrets.store("magicoder.apiKey:http://a:8000", "ka");
  await secrets.store("magicoder.apiKey:http://b:8000", "kb");
  assert.equal(await setApiKey(editor("http://a:8000/v1", undefined, secrets).fake), undefined);
  assert.equal(secrets.values.size, 2);
  assert.deepEqual(await setApiKey(editor("http://a:8000/v1", "", secrets).fake), { origin: "http://a:8000", stored: false });
  assert.deepEqual([...secrets.values], [["magicoder.apiKey:http://b:8000", "kb"]]);
  assert.deepEqual(await setApiKey(editor("http://b:8000", "  kb2  ", secrets).fake), { origin: "http://b:8000", stored: true });
  assert.equal(secrets.values.get("magicoder.apiKey:http://b:8000"), "kb2");
});

test("Set API Key needs magicoder.endpoint (an http(s) URL) and then asks nothing", async () => {
  const none = editor("", "sk");
  assert.equal(await setApiKey(none.fake), undefined);
  assert.equal(none.asked.length, 0);
  assert.match(none.infos[0], /magicoder\.endpoint/);
  assert.equal(none.secrets.values.size, 0);
  const bad = editor("gpu-box:8000", "sk");
  assert.equal(await setApiKey(bad.fake), undefined);
  assert.equal(bad.asked.length, 0);
  assert.match(bad.errors[0], /not an http\(s\) URL/);
});

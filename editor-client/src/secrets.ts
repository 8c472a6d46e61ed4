// The API key of a remote (`magicoder.backend` openai) endpoint: kept in VS Code's SecretStorage under a key
// per endpoint origin, never in settings.json nor in any log. Pure: the editor is passed in (SetKeyEditor),
// so the Set API Key flow is unit-testable without the vscode module.

export const SET_API_KEY_COMMAND = "magicoder.setApiKey";
/** The custom notification that tells the server the key of its endpoint's origin: ApiKeyParams. */
export const API_KEY_NOTIFICATION = "magicoder/apiKey";
const SECRET_PREFIX = "magicoder.apiKey:";

/** `magicoder/apiKey`'s params: the key of `origin` (the current endpoint's), or null for none. */
export interface ApiKeyParams {
  origin: string;
  key: string | null;
}

/** The part of vscode.SecretStorage that is used. */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** What Set API Key needs from the editor (vscode.window's input box and messages). */
export interface SetKeyEditor {
  /** The user-level `magicoder.endpoint` ("" when unset). */
  endpoint(): string;
  secrets: SecretStore;
  askKey(options: { title: string; prompt: string; password: true; ignoreFocusOut: true }): PromiseLike<string | undefined>;
  info(message: string): void;
  error(message: string): void;
}

/** What Set API Key did: stored or deleted the key of `origin`, or nothing (cancelled, refused, no endpoint). */
export type SetKeyResult = { origin: string; stored: boolean } | undefined;

/** An http(s) endpoint's origin (`http://gpu-box:8000/v1` → `http://gpu-box:8000`); undefined for anything else. */
export function originOf(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    return undefined;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.origin : undefined;
}

/** The SecretStorage key of an origin's API key. */
export function secretKey(origin: string): string {
  return `${SECRET_PREFIX}${origin}`;
}

// C0 and C1 control characters (newline, tab, NUL …), DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why a key cannot be used (it would break or forge an HTTP header line), or undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (CONTROL.test(key)) return "the API key contains a newline or another control character";
  return undefined;
}

/** The stored key of `endpoint`'s origin, as `magicoder/apiKey` params; undefined when the endpoint is not http(s). */
export async function apiKeyParams(secrets: Pick<SecretStore, "get">, endpoint: string): Promise<ApiKeyParams | undefined> {
  const origin = originOf(endpoint);
  if (!origin) return undefined;
  return { origin, key: (await secrets.get(secretKey(origin))) || null };
}

/**
 * Magicoder: Set API Key — asks for the key of the current endpoint's origin (hidden input) and stores it;
 * an empty answer deletes it, Escape changes nothing. The key is never shown nor logged.
 */
export async function setApiKey(editor: SetKeyEditor): Promise<SetKeyResult> {
  const endpoint = editor.endpoint().trim();
  if (!endpoint) {
    editor.info("Magicoder: set magicoder.endpoint (your user settings) first; the API key is kept for its server.");
    return undefined;
  }
  const origin = originOf(endpoint);
  if (!origin) {
    editor.error(`Magicoder: magicoder.endpoint is not an http(s) URL: ${JSON.stringify(endpoint)}.`);
    return undefined;
  }
  const answer = await editor.askKey({
    title: "Magicoder: Set API Key",
    prompt: `API key for ${origin} (kept in VS Code's secret storage; empty: remove the stored key)`,
    password: true,
    ignoreFocusOut: true,
  });
  if (answer === undefined) return undefined;
  const problem = keyProblem(answer);
  if (problem) {
    editor.error(`Magicoder: ${problem}; it was not stored.`);
    return undefined;
  }
  const key = answer.trim();
  if (!key) {
    await editor.secrets.delete(secretKey(origin));
    editor.info(`Magicoder: the API key for ${origin} is removed.`);
    return { origin, stored: false };
  }
  await editor.secrets.store(secretKey(origin), key);
  editor.info(`Magicoder: the API key for ${origin} is stored.`);
  return { origin, stored: true };
}

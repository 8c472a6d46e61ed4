// What the status bar item shows, from the server's `magicoder/status` notifications and the client's
// own state. Pure: extension.ts renders the view.
import { GET_MODEL, SETUP_SERVER, Step } from "./firstRun";

export type ServerState = "loading" | "ready" | "busy" | "error";
export type ClientState = "starting" | "running" | "stopped" | "failed";

export interface StatusParams {
  state: ServerState;
  model: string | null;
  provider: string | null; // an onnxruntime execution provider, or "openai" for a remote server
  endpoint?: string; // with the openai backend: the server's base URL
  message?: string;
  tokensPerSecond?: number;
}

export interface StatusView {
  text: string;
  tooltip: string;
  error: boolean;
  command: string;
}

export const SHOW_LOGS = "magicoder.showLogs";

/** "CPUExecutionProvider" → "CPU", "CUDAExecutionProvider" → "CUDA", "openai" (a remote server) → "remote". */
export function providerLabel(provider: string | null | undefined): string | undefined {
  if (!provider) return undefined;
  if (provider === "openai") return "remote";
  return provider.replace(/ExecutionProvider$/, "") || provider;
}

/** An endpoint as shown: without a user name and password, should the URL carry them. */
export function endpointLabel(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (!url.username && !url.password) return endpoint;
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return endpoint;
  }
}

export function formatRate(tokensPerSecond: number): string {
  return tokensPerSecond >= 100 ? `${Math.round(tokensPerSecond)} tok/s` : `${tokensPerSecond.toFixed(1)} tok/s`;
}

function isStatus(value: unknown): value is StatusParams {
  const v = value as StatusParams;
  return typeof v === "object" && v !== null && ["loading", "ready", "busy", "error"].includes(v.state);
}

export class StatusModel {
  private server: StatusParams | undefined;
  private client: ClientState = "starting";
  private clientMessage: string | undefined;
  private lastRate: number | undefined;
  inlineEnabled = true;
  /** The first-run step still missing (firstRun.nextStep): shown as what to do next, not as an error. */
  setup: Step | undefined;

  /** A `magicoder/status` notification; malformed ones are ignored. Returns whether it was used. */
  update(params: unknown): boolean {
    if (!isStatus(params)) return false;
    this.server = params;
    if (typeof params.tokensPerSecond === "number" && params.tokensPerSecond > 0) this.lastRate = params.tokensPerSecond;
    return true;
  }

  setClient(state: ClientState, message?: string): void {
    this.client = state;
    this.clientMessage = message;
    if (state !== "running") this.server = undefined;
  }

  view(): StatusView {
    const next = this.nextStepView();
    if (next) return next;
    const s = this.server;
    const provider = providerLabel(s?.provider);
    const lines = [`Magicoder: ${this.describe()}`];
    if (s?.model) lines.push(`Model: ${s.model}`);
    if (provider) lines.push(`Runs on: ${provider}`);
    if (typeof s?.endpoint === "string" && s.endpoint) lines.push(`Endpoint: ${endpointLabel(s.endpoint)}`);
    if (this.lastRate !== undefined) lines.push(`Last answer: ${formatRate(this.lastRate)}`);
    lines.push(`Inline completions: ${this.inlineEnabled ? "on" : "off"}`);
    const message = s?.message ?? this.clientMessage;
    if (message) lines.push("", message);
    const error = this.client === "failed" || this.client === "stopped" || s?.state === "error";
    if (error) lines.push("", "Click to show the logs.");

    let icon = "$(sparkle)";
    if (error) icon = "$(error)";
    else if (this.client === "starting" || s === undefined || s.state === "loading" || s.state === "busy") icon = "$(loading~spin)";
    const parts = [`${icon} Magicoder`];
    if (provider && !error) parts.push(provider);
    if (s?.state === "loading" && !error) parts.push("loading…");
    const rate = this.lastRate !== undefined && !error ? ` · ${formatRate(this.lastRate)}` : "";
    const inline = this.inlineEnabled ? "" : " $(circle-slash)";
    return { text: parts.join(" ") + rate + inline, tooltip: lines.join("\n"), error, command: SHOW_LOGS };
  }

  /**
   * A missing first-run step replaces an error that it explains: no server found (Set Up Server), or a server
   * that runs without a model or endpoint (Get Model, or the team server's setup).
   */
  private nextStepView(): StatusView | undefined {
    const inline = this.inlineEnabled ? "" : " $(circle-slash)";
    const failedToStart = this.client === "failed" || this.client === "stopped";
    if (this.setup === "server" && failedToStart) {
      const tooltip = "Magicoder: the server is not set up\n\nClick to set it up (Magicoder: Set Up Server).";
      return { text: `$(tools) Magicoder: Set Up${inline}`, tooltip, error: false, command: SETUP_SERVER };
    }
    const waiting = this.client === "running" && (this.server === undefined || this.server.state === "error");
    if (this.setup === "model" && waiting) {
      const tooltip = "Magicoder: no model yet\n\nClick to get one (Magicoder: Get Model).";
      return { text: `$(cloud-download) Magicoder: Get Model${inline}`, tooltip, error: false, command: GET_MODEL };
    }
    if (this.setup === "endpoint" && waiting) {
      const tooltip = "Magicoder: no inference server (magicoder.endpoint) set\n\nClick to set one up (Magicoder: Set Up Server).";
      return { text: `$(plug) Magicoder: Set Up${inline}`, tooltip, error: false, command: SETUP_SERVER };
    }
    return undefined;
  }

  private describe(): string {
    if (this.client === "failed") return "cannot start the server";
    if (this.client === "stopped") return "the server stopped";
    if (this.client === "starting" || !this.server) return "starting the server";
    return { loading: "loading the model", ready: "ready", busy: "generating", error: "error" }[this.server.state];
  }
}

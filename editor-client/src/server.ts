// The language client: starts `<python> -m lsp_server` over stdio, sends it changed settings (a new
// interpreter restarts it: restarts are queued, one at a time), gates and debounces inline completions,
// runs magicoder.ask under a cancellable progress notification, and tells the server the API key of its
// endpoint's origin (magicoder/apiKey).
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  LSPErrorCodes,
  MessageType,
  Middleware,
  ResponseError,
  ServerOptions,
  ShowMessageNotification,
  State,
  Trace,
  TransportKind,
  WorkDoneProgress,
} from "vscode-languageclient/node";
import { randomUUID } from "node:crypto";
import * as os from "node:os";
import * as readline from "node:readline";
import { stderrWriter } from "./logLine";
import { log, outputChannel, showError } from "./logger";
import { checkPython, findInterpreter, pythonExtensionInterpreter, which } from "./python";
import { SerialQueue } from "./queue";
import { API_KEY_NOTIFICATION, apiKeyParams, SecretStore } from "./secrets";
import { changedOptions, Launch, launchOf, restartNeeded, serverLogLevel, Settings, SECTION } from "./settings";
import { StatusModel } from "./status";

export const ASK_COMMAND = "magicoder.ask";
const STATUS_NOTIFICATION = "magicoder/status";
const CANCELLED: number[] = [LSPErrorCodes.RequestCancelled, LSPErrorCodes.ServerCancelled];

export interface ServerHooks {
  settings: () => Settings;
  status: StatusModel;
  render: () => void;
  /** Where the API keys are (VS Code's SecretStorage). */
  secrets: Pick<SecretStore, "get">;
  /** Whether the workspace is trusted (Restricted Mode: no workspace interpreter, not run in the workspace). */
  trusted?: () => boolean;
  /** After every start, found or not (the first-run check). */
  afterStart?: () => void;
  /** A server message (window/showMessage) the first-run check shows its own way: not shown, only logged. */
  quiet?: (message: string) => boolean;
}

function sleep(ms: number, token: vscode.CancellationToken): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    const sub = token.onCancellationRequested(done);
    function done() {
      clearTimeout(timer);
      sub.dispose();
      resolve();
    }
  });
}

/**
 * A notification that carries a secret, sent with the client's message trace off: a verbose trace
 * (`magicoder.trace.server`) would write its params to the output channel.
 */
async function sendUntraced(client: LanguageClient, method: string, params: object): Promise<void> {
  // vscode-languageclient keeps the trace level in a private field; unknown: left as is.
  const previous = (client as unknown as { _trace?: Trace })._trace;
  const traced = previous !== undefined && previous !== Trace.Off;
  if (traced) await client.setTrace(Trace.Off);
  try {
    await client.sendNotification(method, params);
  } finally {
    if (traced) await client.setTrace(previous);
  }
}

function lines(input: NodeJS.ReadableStream, write: (line: string) => void): void {
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 }).on("line", write);
}

export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private running: Launch | undefined;
  /** The interpreter the server was last started with (undefined: none was found). */
  python: string | undefined;
  /** How the last start ended. */
  lastStart: "running" | "no-interpreter" | "failed" | undefined;
  private readonly queue = new SerialQueue((error) => void showError(`Magicoder: ${String(error)}`));

  constructor(private readonly hooks: ServerHooks) {}

  /** The client while the server runs. */
  get languageClient(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  start(): Promise<void> {
    return this.queue.run(() => this.doStart(), "restart");
  }

  /** Stop and start again; a restart requested while another waits joins it. */
  restart(): Promise<void> {
    return this.queue.run(async () => {
      await this.doStop();
      await this.doStart();
    }, "restart");
  }

  stop(): Promise<void> {
    return this.queue.run(() => this.doStop());
  }

  /** Settings changed: a new interpreter restarts the server; other settings are sent to it. */
  settingsChanged(): Promise<void> {
    const wanted = launchOf(this.hooks.settings());
    this.hooks.status.inlineEnabled = wanted.options.inlineEnabled;
    this.hooks.render();
    if (!this.running || restartNeeded(this.running, wanted)) {
      log.info("settings changed: restarting the server");
      return this.restart();
    }
    return this.queue.run(async () => {
      const client = this.languageClient;
      const options = launchOf(this.hooks.settings()).options;
      const changed = this.running ? changedOptions(this.running, { ...this.running, options }) : [];
      if (!client || !this.running || !changed.length) return;
      const endpointChanged = this.running.options.endpoint !== options.endpoint;
      this.running = { ...this.running, options };
      log.info(`settings changed: sent to the server (${changed.join(", ")})`);
      await client.sendNotification(DidChangeConfigurationNotification.type, { settings: options });
      // A new endpoint: its origin's key, or null (never the key of another origin).
      if (endpointChanged) await this.sendApiKey(client, options.endpoint, true);
    });
  }

  /** The API key of the endpoint's origin was stored or removed (Set API Key): the server is told. */
  apiKeyChanged(): Promise<void> {
    return this.queue.run(async () => {
      const client = this.languageClient;
      if (client && this.running) await this.sendApiKey(client, this.running.options.endpoint, true);
    });
  }

  dispose(): void {
    void this.stop();
  }

  private setClientState(state: "starting" | "running" | "stopped" | "failed", message?: string): void {
    this.hooks.status.setClient(state, message);
    this.hooks.render();
  }

  private async doStart(): Promise<void> {
    try {
      await this.startClient();
    } finally {
      this.hooks.afterStart?.();
    }
  }

  private async startClient(): Promise<void> {
    const settings = this.hooks.settings();
    this.hooks.status.inlineEnabled = settings.inline.enabled;
    this.setClientState("starting");
    const folder = vscode.workspace.workspaceFolders?.[0];
    // Restricted Mode: no interpreter the workspace may have chosen (the Python extension's may be its own
    // .venv), and not started in the workspace (`python -m` imports from the current directory first).
    const trusted = this.hooks.trusted?.() ?? vscode.workspace.isTrusted;
    if (!trusted) log.info("Restricted Mode: the server runs from your home folder, with no Python extension interpreter");
    const found = await findInterpreter({
      setting: settings.pythonPath,
      pythonExtension: async () => (trusted ? pythonExtensionInterpreter(vscode.extensions, folder?.uri) : undefined),
      which: (command) => which(command),
      check: (python) => checkPython(python),
    });
    if ("error" in found) {
      this.running = undefined;
      this.python = undefined;
      this.lastStart = "no-interpreter";
      this.setClientState("failed", found.error);
      if (this.hooks.quiet?.(found.error)) {
        // The first-run check says what to do: not an error, the log says what was found.
        log.info(found.error);
        for (const line of found.tried) log.info(`  tried ${line}`);
        return;
      }
      for (const line of found.tried) log.error(`  tried ${line}`);
      void showError(found.error, "Open Settings").then((choice) => {
        if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "magicoder.pythonPath");
      });
      return;
    }
    const launch = launchOf(settings);
    log.info(`starting the server: ${found.python} -m lsp_server (interpreter from ${found.source})`);
    const serverOptions: ServerOptions = {
      command: found.python,
      // vscode-languageclient appends --stdio itself for TransportKind.stdio.
      args: ["-m", "lsp_server", "--log-level", serverLogLevel(settings.logLevel)],
      transport: TransportKind.stdio,
      options: { cwd: trusted ? folder?.uri.fsPath : os.homedir(), env: { ...process.env, PYTHONUNBUFFERED: "1" } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      initializationOptions: launch.options,
      outputChannel: outputChannel(),
      stdioOptions: {
        stdout: (input, channel) => lines(input, (line) => channel.info(line)),
        stderr: (input, channel) => lines(input, stderrWriter(channel)),
      },
      middleware: this.middleware(),
    };
    const client = new LanguageClient("magicoder", "Magicoder", serverOptions, clientOptions);
    client.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      if (this.hooks.status.update(params)) this.hooks.render();
    });
    // Replaces vscode-languageclient's own handler (registered before start, it is installed after it).
    client.onNotification(ShowMessageNotification.type, ({ type, message }) => {
      if (this.hooks.quiet?.(message)) {
        log.info(`(not shown) ${message}`);
        return;
      }
      if (type === MessageType.Error) void vscode.window.showErrorMessage(message);
      else if (type === MessageType.Warning) void vscode.window.showWarningMessage(message);
      else void vscode.window.showInformationMessage(message);
    });
    client.onDidChangeState((event) => {
      if (this.client !== client) return;
      if (event.newState === State.Running) this.setClientState("running");
      if (event.newState === State.Stopped) this.setClientState("stopped", "The server stopped: see the logs.");
    });
    this.client = client;
    this.running = launch;
    this.python = found.python;
    try {
      await client.start();
      this.lastStart = "running";
    } catch (error) {
      this.running = undefined;
      this.lastStart = "failed";
      this.setClientState("failed", `The server did not start: ${String(error)}`);
      void showError(`Magicoder: the server did not start: ${String(error)}`);
      return;
    }
    await this.sendApiKey(client, launch.options.endpoint, false);
  }

  /**
   * Tells the server the stored API key of `endpoint`'s origin (`clear`: null when none is stored; without
   * it, nothing is sent then). Logs the origin only, never the key.
   */
  private async sendApiKey(client: LanguageClient, endpoint: string, clear: boolean): Promise<void> {
    let params;
    try {
      params = await apiKeyParams(this.hooks.secrets, endpoint);
    } catch (error) {
      log.warn(`cannot read the API key from the secret storage: ${String(error)}`);
      return;
    }
    if (!params || (!params.key && !clear)) return;
    try {
      await sendUntraced(client, API_KEY_NOTIFICATION, params);
    } catch (error) {
      log.warn(`cannot send the API key for ${params.origin}: ${String(error)}`);
      return;
    }
    log.info(params.key ? `API key sent for ${params.origin}` : `API key cleared for ${params.origin}`);
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.running = undefined;
    if (client && client.needsStop()) {
      log.info("stopping the server");
      try {
        await client.stop(5000);
      } catch (error) {
        log.warn(`stopping the server: ${String(error)}`);
      }
    }
    this.setClientState("stopped", "The server is stopped.");
  }

  private middleware(): Middleware {
    return {
      // While the server stops or restarts, the editor's requests get nothing rather than errors.
      provideCodeActions: (document, range, context, token, next) =>
        this.languageClient ? next(document, range, context, token) : [],
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        if (!this.languageClient) return null;
        const { inline } = this.hooks.settings();
        if (!inline.enabled) return null;
        if (inline.debounceMs > 0) await sleep(inline.debounceMs, token);
        if (token.isCancellationRequested) return null;
        return next(document, position, context, token);
      },
      executeCommand: (command, args, next) => (command === ASK_COMMAND ? this.ask(args) : next(command, args)),
      workspace: {
        // The server may ask for its settings: the same mapped options as at start-up, paths resolved.
        configuration: (params, token, next) => {
          const mine = params.items.map((item) => item.section === SECTION);
          if (!mine.some(Boolean)) return next(params, token);
          const options = launchOf(this.hooks.settings()).options;
          return params.items.map((_item, i) => (mine[i] ? options : null));
        },
      },
    };
  }

  /**
   * magicoder.ask, from the lightbulb or Magicoder: Ask…, under a cancellable progress notification
   * (Cancel sends $/cancelRequest, which stops the generation). The server's work-done progress
   * (vscode-languageclient would show it in the status bar, where it cannot be cancelled) reports
   * into that notification through our workDoneToken.
   */
  private ask(args: unknown[]): Thenable<unknown> {
    const client = this.languageClient;
    if (!client) {
      void showError("Magicoder: the server is not running.");
      return Promise.resolve(undefined);
    }
    const options = { location: vscode.ProgressLocation.Notification, cancellable: true };
    return vscode.window.withProgress(options, async (progress, token) => {
      const workDoneToken = `magicoder-ask-${randomUUID()}`;
      progress.report({ message: "Magicoder: asking…" });
      const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
        const message = value.kind === "begin" ? [value.title, value.message].filter(Boolean).join(": ") : value.message;
        if (value.kind !== "end" && message) progress.report({ message });
      });
      try {
        const params = { command: ASK_COMMAND, arguments: args, workDoneToken };
        const result = await client.sendRequest(ExecuteCommandRequest.type, params, token);
        log.info(`Ask Magicoder: ${JSON.stringify(result)}`);
        return result;
      } catch (error) {
        if (token.isCancellationRequested || (error instanceof ResponseError && CANCELLED.includes(error.code))) {
          log.info("Ask Magicoder: cancelled");
          return undefined;
        }
        void showError(`Magicoder: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      } finally {
        sub.dispose();
      }
    });
  }
}

// The first run from the editor: the check after each server start (one notification per missing step, the
// walkthrough's context keys, the status bar's next step), Magicoder: Set Up Server (a managed Python
// environment with the runtime that fits this machine), Magicoder: Get Model (the exporter in that environment,
// driven by its --progress json events) and the walkthrough's sample.
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { buildEnvironment, BuiltEnv, Cancelled, EXPORTER_MODULES, missingModules, readRecord, removeStale, SetupError } from "./environments";
import { contextKeys, Facts, nextStep, NOTICES, SAMPLE, SAMPLE_SELECTION, SETUP_SERVER, shouldNotify, Step, WALKTHROUGH } from "./firstRun";
import { log, showError } from "./logger";
import { Cancel, output, run } from "./processes";
import { describeFigures, eventUpdate, ExportEvent, exportFailure, Figures, figuresBody, Fraction, parseEvent, Update } from "./progress";
import { pythonExtensionInterpreters, which } from "./python";
import { ServerController } from "./server";
import {
  EnvPlan,
  extrasFor,
  findBasePython,
  managedEnvOf,
  Mode,
  packageSpec,
  parseProbe,
  PROBE_SCRIPT,
  Runtime,
  runtimeFor,
  runtimeOf,
} from "./setup";
import { Settings } from "./settings";
import { StatusModel } from "./status";

const NOTIFIED_KEY = "magicoder.firstRun.notified";
export const MODEL_ID = "ise-uiuc/Magicoder-S-DS-6.7B";
const NO_MODEL = /no model folder is configured/;
const CANCELLED = Symbol("cancelled");

type ProgressReporter = vscode.Progress<{ message?: string; increment?: number }>;

/** vscode.Progress, reported to by absolute fractions. */
function reporter(progress: ProgressReporter): (u: Update) => void {
  const fraction = new Fraction();
  return (u) => progress.report({ message: u.message, increment: u.fraction === undefined ? undefined : fraction.to(u.fraction) });
}

/** Whether an NVIDIA driver answers (`nvidia-smi -L` exits 0). */
export async function hasNvidia(): Promise<boolean> {
  if (!which("nvidia-smi")) return false;
  const result = await output("nvidia-smi", ["-L"], { timeoutMs: 10_000 });
  return result.code === 0;
}

function folderName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").toLowerCase() || "model";
}

export interface OnboardingHooks {
  context: vscode.ExtensionContext;
  server: ServerController;
  status: StatusModel;
  render: () => void;
  settings: () => Settings;
}

export class Onboarding implements vscode.Disposable {
  private busy: string | undefined;
  private step: Step | undefined;
  private readonly notifying = new Set<Step>();
  /** Cancelled when the extension stops: a running pip or export stops with it (its unfinished folder removed). */
  private readonly stopping = new vscode.CancellationTokenSource();

  constructor(private readonly hooks: OnboardingHooks) {
    try {
      const removed = removeStale(this.storage);
      if (removed.length) log.info(`removed unfinished environments left by an interrupted setup: ${removed.join(", ")}`);
    } catch (error) {
      log.warn(`cleaning the environments folder: ${String(error)}`);
    }
  }

  dispose(): void {
    this.stopping.cancel();
    this.stopping.dispose();
  }

  /** The notification's Cancel, or the extension stopping. */
  private orStopping(token: vscode.CancellationToken): Cancel {
    const stopping = this.stopping.token;
    return {
      get isCancellationRequested() {
        return token.isCancellationRequested || stopping.isCancellationRequested;
      },
      onCancellationRequested(listener) {
        const a = token.onCancellationRequested(listener);
        const b = stopping.onCancellationRequested(listener);
        return { dispose: () => (a.dispose(), b.dispose()) };
      },
    };
  }

  private get storage(): string {
    return this.hooks.context.globalStorageUri.fsPath;
  }

  private get version(): string {
    return String((this.hooks.context.extension.packageJSON as { version?: string }).version ?? "0.0.0");
  }

  private facts(): Facts {
    const s = this.hooks.settings();
    return {
      serverFound: this.hooks.server.lastStart === "running",
      backend: s.backend,
      model: s.model,
      modelEnv: process.env.MAGICODER_MODEL ?? "",
      endpoint: s.endpoint,
    };
  }

  /** Whether a server message is the missing model that the first-run check already explains (not shown again). */
  quiet(message: string): boolean {
    const step = nextStep(this.facts());
    const { pythonPath } = this.hooks.settings();
    if (step === "server") {
      // An interpreter the user chose keeps its own error (install into it, or change the setting).
      if (pythonPath && !managedEnvOf(pythonPath, this.storage)) return false;
      return /has magicoder-lsp installed|no Python interpreter was found/.test(message);
    }
    return step === "model" && NO_MODEL.test(message);
  }

  /** After each server start and settings change: context keys, the status bar's next step, one notification. */
  async check(): Promise<void> {
    const facts = this.facts();
    const step = nextStep(facts);
    this.step = step;
    for (const [key, value] of Object.entries(contextKeys(facts))) void vscode.commands.executeCommand("setContext", key, value);
    this.hooks.status.setup = step;
    this.hooks.render();
    if (this.busy) return; // the running setup says what happens next
    const shown = [...this.hooks.context.globalState.get<string[]>(NOTIFIED_KEY, []), ...this.notifying];
    if (!shouldNotify(step, shown)) return;
    this.notifying.add(step); // checks may overlap (a start, a settings change): one notification still
    await this.hooks.context.globalState.update(NOTIFIED_KEY, [...new Set([...shown, step])]);
    const notice = NOTICES[step];
    log.info(`first run: next step ${step}`);
    const walkthrough = "Open Walkthrough";
    const choice = await vscode.window.showInformationMessage(`Magicoder: ${notice.message}`, notice.action.title, walkthrough);
    if (choice === notice.action.title) await vscode.commands.executeCommand(notice.action.command, ...notice.action.args);
    if (choice === walkthrough) await vscode.commands.executeCommand("workbench.action.openWalkthrough", WALKTHROUGH, false);
  }

  private async exclusive(what: string, task: () => Promise<void>): Promise<void> {
    if (this.busy) {
      void vscode.window.showInformationMessage(`Magicoder: ${this.busy} is running; wait for it, or cancel it from its notification.`);
      return;
    }
    this.busy = what;
    try {
      await task();
    } catch (error) {
      void showError(`Magicoder: ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.busy = undefined;
      void this.check();
    }
  }

  // -- Set Up Server ----------------------------------------------------------------------------------

  setupServer(modeArgument?: unknown): Promise<void> {
    return this.exclusive("Set Up Server", () => this.doSetupServer(modeArgument));
  }

  private async doSetupServer(modeArgument?: unknown): Promise<void> {
    const nvidia = await hasNvidia();
    const mode = modeArgument === "local" || modeArgument === "team" ? modeArgument : await this.pickMode(nvidia);
    if (!mode) return;
    let endpoint: string | undefined;
    if (mode === "team") {
      endpoint = await this.askEndpoint();
      if (!endpoint) return;
    }
    const current = managedEnvOf(this.hooks.settings().pythonPath, this.storage);
    // Rerunning keeps what the environment had: the exporter's tools, once Get Model added them.
    const exporter = mode === "local" && (readRecord(current ?? "")?.extras.some((e) => e.startsWith("export")) ?? false);
    const plan: EnvPlan = { runtime: runtimeFor(mode, nvidia), exporter };
    const title = "Magicoder: setting up the server";
    const built = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      (progress, token) => this.install(plan, reporter(progress), this.orStopping(token)),
    );
    if (!built) return;
    const extra: [string, unknown][] = endpoint ? [["backend", "openai"], ["endpoint", endpoint]] : [];
    await this.switchTo(built, extra);
    if (mode === "team") {
      const setKey = "Set API Key";
      // Not awaited: the notification may stay open while other commands run.
      void vscode.window
        .showInformationMessage(
          `Magicoder: the server is set up for ${endpoint}. If it needs an API key, set it now (kept in VS Code's secret storage).`,
          setKey,
        )
        .then((choice) => choice === setKey && vscode.commands.executeCommand("magicoder.setApiKey"));
    } else {
      void vscode.window.showInformationMessage(`Magicoder: the server is set up (${plan.runtime}).`);
    }
  }

  private async pickMode(nvidia: boolean): Promise<Mode | undefined> {
    const items: (vscode.QuickPickItem & { mode: Mode })[] = [
      {
        label: "$(device-desktop) Run the model on this machine",
        description: nvidia ? "NVIDIA GPU found: magicoder-lsp[gpu]" : "no NVIDIA driver found: magicoder-lsp[cpu]",
        detail: "Then Get Model exports Magicoder-S-DS-6.7B for this machine.",
        mode: "local",
      },
      {
        label: "$(cloud) Use my team's inference server",
        description: "magicoder-lsp[remote]",
        detail: "A shared OpenAI-compatible server (vLLM, llama.cpp) runs the model; nothing to download here.",
        mode: "team",
      },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: "Magicoder: Set Up Server", placeHolder: "Where should the model run?", ignoreFocusOut: true });
    return picked?.mode;
  }

  private async askEndpoint(): Promise<string | undefined> {
    const answer = await vscode.window.showInputBox({
      title: "Magicoder: your team's inference server",
      prompt: "Base URL of its OpenAI-compatible API (saved as magicoder.endpoint in your user settings)",
      placeHolder: "https://gpu-box.example:8000/v1",
      value: this.hooks.settings().endpoint,
      ignoreFocusOut: true,
      validateInput: (value) => {
        try {
          const url = new URL(value.trim());
          return url.protocol === "http:" || url.protocol === "https:" ? undefined : "an http:// or https:// URL";
        } catch {
          return "an http:// or https:// URL, e.g. https://gpu-box.example:8000/v1";
        }
      },
    });
    return answer?.trim() || undefined;
  }

  /**
   * Builds a new environment for `plan` (the previous one keeps serving meanwhile); undefined when it could not
   * (the message is shown) or was cancelled. `span`: the share of the caller's progress it takes.
   */
  private async install(plan: EnvPlan, report: (u: Update) => void, token: Cancel, span?: [number, number]): Promise<BuiltEnv | undefined> {
    report({ message: "looking for Python 3.10 or newer", fraction: span?.[0] ?? 0 });
    const trusted = vscode.workspace.isTrusted;
    const base = await findBasePython({
      pythonExtension: () => (trusted ? pythonExtensionInterpreters(vscode.extensions, vscode.workspace.workspaceFolders?.[0]?.uri) : Promise.resolve([])),
      which: (command) => which(command),
      probe: async (python) => {
        const result = await output(python, ["-c", PROBE_SCRIPT], { timeoutMs: 30_000 });
        return result.error ? { venv: false, error: result.error } : parseProbe(result.stdout);
      },
    });
    if ("error" in base) {
      for (const line of base.tried) log.error(`  tried ${line}`);
      void showError(base.error);
      return undefined;
    }
    const extras = extrasFor(plan);
    const spec = packageSpec(this.hooks.settings().serverPackage, this.version, extras);
    log.info(`Set Up Server: ${spec} into a new environment (Python ${base.version}, ${base.python} from ${base.source})`);
    try {
      return await buildEnvironment({
        storage: this.storage,
        basePython: base.python,
        pythonVersion: base.version,
        spec,
        extras,
        cancel: token,
        report,
        span,
        log: (line) => log.info(`pip: ${line}`),
      });
    } catch (error) {
      if (error instanceof Cancelled) {
        log.info("Set Up Server: cancelled; the unfinished environment is removed, nothing changed");
        void vscode.window.showInformationMessage("Magicoder: setting up the server was cancelled; nothing was changed.");
        return undefined;
      }
      if (error instanceof SetupError) {
        void showError(`Magicoder: ${error.message}`);
        return undefined;
      }
      throw error;
    }
  }

  /** Points magicoder.pythonPath (and `extra` settings) at a new environment, restarts, removes the one it replaces. */
  private async switchTo(built: BuiltEnv, extra: [string, unknown][] = []): Promise<void> {
    const previous = managedEnvOf(this.hooks.settings().pythonPath, this.storage);
    const config = vscode.workspace.getConfiguration("magicoder");
    // The interpreter first: the restart it causes starts the server with the other settings too.
    await config.update("pythonPath", built.python, vscode.ConfigurationTarget.Global);
    for (const [key, value] of extra) await config.update(key, value, vscode.ConfigurationTarget.Global);
    log.info(`magicoder.pythonPath is now ${built.python}`);
    await this.hooks.server.restart();
    if (previous && previous !== built.folder && this.hooks.server.lastStart === "running") {
      log.info(`removing the environment it replaces: ${previous}`);
      fs.rmSync(previous, { recursive: true, force: true });
    }
  }

  // -- Get Model ---------------------------------------------------------------------------------------

  getModel(): Promise<void> {
    return this.exclusive("Get Model", () => this.doGetModel());
  }

  private modelsFolder(): string {
    return path.join(this.storage, "models");
  }

  /** The runtime the server's environment has (its record), else the one that fits this machine. */
  private async runtime(): Promise<Runtime> {
    const env = managedEnvOf(this.hooks.server.python ?? "", this.storage);
    return runtimeOf(readRecord(env ?? "")?.extras ?? []) ?? runtimeFor("local", await hasNvidia());
  }

  /** `magicoder-export preflight` in the server's environment: the figures for this machine, or undefined. */
  private async preflight(python: string, source: string, target: string, out: string): Promise<Figures | undefined> {
    const args = ["-m", "export.cli", "preflight", source, "--target", target, "--output", out, "--progress", "json"];
    const result = await output(python, args, { timeoutMs: 60_000 });
    const events = result.stdout.split("\n").map(parseEvent).filter((e): e is ExportEvent => e !== undefined);
    const figures = events.find((e) => e.event === "preflight") as unknown as Figures | undefined;
    if (!figures) {
      const error = events.find((e) => e.event === "error");
      log.warn(`preflight of ${source}: ${error?.message ?? (result.stderr.trim().split("\n").at(-1) || `exit ${result.code}`)}`);
    }
    return figures;
  }

  private async doGetModel(): Promise<void> {
    const python = this.hooks.server.python;
    if (!python || this.hooks.server.lastStart !== "running") {
      // Not awaited inside this command: the notification may stay open.
      void vscode.window
        .showInformationMessage("Magicoder: set up the server first; Get Model runs the exporter in its environment.", "Set Up Server")
        .then((choice) => choice && vscode.commands.executeCommand(SETUP_SERVER, "local"));
      return;
    }
    const runtime = await this.runtime();
    const target = runtime === "gpu" ? "cuda" : "cpu";
    const precision = target === "cuda" ? "fp16" : "int4";
    const hubOut = path.join(this.modelsFolder(), `${folderName(MODEL_ID.split("/")[1])}-${precision}-${target}`);
    type Item = vscode.QuickPickItem & { kind_: "hub" | "hf" | "exported" };
    const hubItem: Item = {
      label: "$(cloud-download) Magicoder-S-DS-6.7B from Hugging Face",
      description: `${precision} for ${target.toUpperCase()}`,
      detail: "computing what it needs on this machine…",
      kind_: "hub",
    };
    const items: Item[] = [
      hubItem,
      { label: "$(folder) A Hugging Face model folder on this machine", description: "config.json and *.safetensors", detail: `exported for ${target.toUpperCase()} (${precision}) and checked against it`, kind_: "hf" },
      { label: "$(folder-active) A model folder exported before", description: "magicoder-export build or describe", detail: "checked with magicoder-export describe, then used as it is", kind_: "exported" },
    ];
    const quickPick = vscode.window.createQuickPick<Item>();
    quickPick.title = "Magicoder: Get Model";
    quickPick.placeholder = "Where does the model come from?";
    quickPick.items = items;
    quickPick.ignoreFocusOut = true;
    quickPick.busy = true;
    let hubFigures: Figures | undefined;
    const figuresReady = this.preflight(this.hooks.server.python!, MODEL_ID, target, hubOut).then((figures) => {
      hubFigures = figures;
      hubItem.detail = figures ? (figures.ok ? "" : "this machine is short of it: ") + figuresBody(figures) : "figures unavailable (see the log)";
      if (figures) log.info(`Get Model: ${MODEL_ID}: ${describeFigures(figures)}`);
      quickPick.items = [...items];
      quickPick.busy = false;
    });
    const picked = await new Promise<Item | undefined>((resolve) => {
      quickPick.onDidAccept(() => resolve(quickPick.selectedItems[0]));
      quickPick.onDidHide(() => resolve(undefined));
      quickPick.show();
    });
    quickPick.dispose();
    if (!picked) return;
    if (picked.kind_ === "hub") {
      await figuresReady;
      if (!(await this.confirmFigures(hubFigures))) return;
      await this.export(MODEL_ID, hubOut, target, hubFigures?.ok === false);
      return;
    }
    const folder = await this.pickFolder(picked.kind_ === "hf" ? "Export This Folder" : "Use This Folder");
    if (!folder) return;
    if (picked.kind_ === "hf") {
      const base = path.basename(folder) === "hf" ? `${path.basename(path.dirname(folder))}-hf` : path.basename(folder);
      const out = path.join(this.modelsFolder(), `${folderName(base)}-${precision}-${target}`);
      const figures = await this.preflight(this.hooks.server.python!, folder, target, out);
      if (figures) log.info(`Get Model: ${folder}: ${describeFigures(figures)}`);
      if (!(await this.confirmFigures(figures))) return;
      await this.export(folder, out, target, figures?.ok === false);
    } else {
      await this.adopt(folder);
    }
  }

  private async pickFolder(openLabel: string): Promise<string | undefined> {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel, title: `Magicoder: Get Model — ${openLabel}` });
    return picked?.[0]?.fsPath;
  }

  /** When this machine is short of RAM or disk: say so, and go on only if asked to. */
  private async confirmFigures(figures: Figures | undefined): Promise<boolean> {
    if (!figures || figures.ok) return true;
    const anyway = "Export Anyway";
    const choice = await vscode.window.showWarningMessage(
      "Magicoder: this machine may not hold the export.",
      { modal: true, detail: [...figures.problems, "", describeFigures(figures)].join("\n") },
      anyway,
    );
    return choice === anyway;
  }

  /**
   * An interpreter with the exporter's tools: the server's when it has them, else a new environment with the same
   * runtime and the tools (`built`: swapped in only once the model is got, removed otherwise). Undefined when that
   * could not be done (said) or was cancelled.
   */
  private async withExporter(
    report: (u: Update) => void,
    token: Cancel,
  ): Promise<{ python: string; span: [number, number]; built?: BuiltEnv } | undefined> {
    const python = this.hooks.server.python!;
    const missing = await missingModules(python, EXPORTER_MODULES);
    if (!missing.length) return { python, span: [0, 1] };
    log.info(`Get Model: the server's environment lacks the exporter's tools (${missing.join(", ")}): a new environment gets them`);
    report({ message: "installing the exporter's tools (PyTorch, transformers, onnxruntime-genai)", fraction: 0 });
    const built = await this.install({ runtime: await this.runtime(), exporter: true }, report, token, [0, 0.4]);
    return built ? { python: built.python, span: [0.4, 1], built } : undefined;
  }

  /**
   * Runs the exporter (`args` after `-m export.cli`) in an environment that has its tools, under a cancellable
   * notification. On success the environment (when new) becomes the server's and magicoder.model the folder; on
   * failure or Cancel nothing changes (a new environment is removed).
   */
  private async getWith(
    title: string,
    args: (python: string) => string[],
    out: string | undefined,
    what: string,
    hint = "",
  ): Promise<{ folder: string; built?: BuiltEnv } | undefined> {
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      const report = reporter(progress);
      const cancel = this.orStopping(token);
      const exporter = await this.withExporter(report, cancel);
      if (!exporter) return undefined;
      const folder = await this.runExporter(exporter.python, args(exporter.python), report, cancel, exporter.span, out, what, hint);
      const got = folder !== undefined && folder !== CANCELLED;
      if (!got && exporter.built) {
        log.info(`removing the environment made for the exporter: ${exporter.built.folder}`);
        fs.rmSync(exporter.built.folder, { recursive: true, force: true });
      }
      if (folder === CANCELLED) {
        log.info("Get Model: cancelled; nothing was kept and the settings are unchanged");
        void vscode.window.showInformationMessage("Magicoder: Get Model was cancelled; nothing was changed.");
      }
      return got ? { folder, built: exporter.built } : undefined;
    });
    return result;
  }

  /** `magicoder-export build SOURCE --output OUT` with its progress; sets magicoder.model when it passes. */
  private async export(source: string, out: string, target: string, skipChecks: boolean): Promise<void> {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const args = ["-m", "export.cli", "build", source, "--output", out, "--target", target, "--progress", "json"];
    if (skipChecks) args.push("--skip-resource-checks");
    const shown = source === MODEL_ID ? MODEL_ID : path.join(path.basename(path.dirname(source)), path.basename(source));
    const title = `Magicoder: getting the model (${shown})`;
    const done = await this.getWith(title, () => args, out, "The export");
    if (done) await this.useModel(done, `Magicoder: the model is ready: ${path.basename(done.folder)} (magicoder.model).`);
  }

  /** A folder exported before: `magicoder-export describe` (`--check` when it has a manifest: nothing rewritten). */
  private async adopt(folder: string): Promise<void> {
    const args = ["-m", "export.cli", "describe", folder, "--progress", "json"];
    const manifest = path.join(folder, "manifest.json");
    if (fs.existsSync(manifest)) {
      args.push("--check");
      try {
        const target = (JSON.parse(fs.readFileSync(manifest, "utf8")) as { target?: string }).target;
        if (target === "cpu" || target === "cuda") args.push("--target", target);
      } catch {
        // describe says what is wrong with it
      }
    }
    const what = `The check of ${folder}`;
    const hint = "Pick the folder that holds model.onnx and tokenizer.json, or export one with Get Model; magicoder.model is unchanged.";
    const done = await this.getWith(`Magicoder: checking ${path.basename(folder)}`, () => args, undefined, what, hint);
    if (done) await this.useModel(done, `Magicoder: using the model folder ${done.folder}.`);
  }

  /** magicoder.model set to the folder; a new environment (with the exporter) becomes the server's at once. */
  private async useModel(got: { folder: string; built?: BuiltEnv }, message: string): Promise<void> {
    if (got.built) await this.switchTo(got.built, [["model", got.folder]]);
    else await vscode.workspace.getConfiguration("magicoder").update("model", got.folder, vscode.ConfigurationTarget.Global);
    log.info(`magicoder.model is now ${got.folder}`);
    void vscode.window.showInformationMessage(message);
  }

  /**
   * Runs magicoder-export with --progress json: its events drive the notification, its log goes to the output
   * channel. Resolves with the folder it made or checked, CANCELLED (its unfinished folder removed) or undefined
   * (failed: said). `out`: the folder a build writes (its `.NAME.partial` is removed after a cancel too).
   */
  private async runExporter(
    python: string,
    args: string[],
    report: (u: Update) => void,
    token: Cancel,
    span: [number, number],
    out: string | undefined,
    what: string,
    hint = "",
  ): Promise<string | typeof CANCELLED | undefined> {
    const at = (fraction: number) => span[0] + (span[1] - span[0]) * fraction;
    let error: ExportEvent | undefined;
    let finished: ExportEvent | undefined;
    let lastLog = "";
    log.info(`${python} ${args.join(" ")}`);
    const result = await run(python, args, {
      cancel: token,
      signal: "SIGTERM",
      graceMs: 60_000,
      env: { ...process.env, PYTHONUNBUFFERED: "1" },
      onStdout: (line) => {
        const event = parseEvent(line);
        if (!event) return log.info(`export: ${line}`);
        if (event.event === "error") error = event;
        if (event.event === "done") finished = event;
        const update = eventUpdate(event);
        if (update) report({ message: update.message, fraction: update.fraction === undefined ? undefined : at(update.fraction) });
      },
      onStderr: (line) => {
        if (line.trim()) lastLog = line.trim();
        log.info(`export: ${line}`);
      },
    });
    if (result.cancelled) {
      if (out) {
        const partial = path.join(path.dirname(out), `.${path.basename(out)}.partial`);
        if (fs.existsSync(partial)) fs.rmSync(partial, { recursive: true, force: true });
      }
      return CANCELLED;
    }
    if (result.code !== 0 || !finished) {
      const failure = exportFailure(error, result.code, result.error ?? lastLog, what);
      void showError(`Magicoder: ${failure}${hint ? `${failure.endsWith(".") ? "" : "."} ${hint}` : ""}`);
      return undefined;
    }
    const done = finished as ExportEvent;
    if (done.parity && done.parity !== "passed") log.warn(`Get Model: parity status ${done.parity} (see ${done.output}/parity.json)`);
    return String(done.output);
  }

  // -- the walkthrough's sample ------------------------------------------------------------------------

  async openSample(): Promise<void> {
    const document = await vscode.workspace.openTextDocument({ language: "python", content: SAMPLE });
    const editor = await vscode.window.showTextDocument(document);
    const end = document.lineAt(SAMPLE_SELECTION.end - 1).range.end;
    editor.selection = new vscode.Selection(new vscode.Position(SAMPLE_SELECTION.start, 0), end);
    editor.revealRange(editor.selection);
    if (this.step) {
      const notice = NOTICES[this.step];
      const choice = await vscode.window.showInformationMessage(`Magicoder: before asking, ${notice.action.title}.`, notice.action.title);
      if (choice) await vscode.commands.executeCommand(notice.action.command, ...notice.action.args);
      return;
    }
    void vscode.window.showInformationMessage("Magicoder: the function and its instruction are selected: press Ctrl+. and pick \"Ask Magicoder: …\".");
  }
}

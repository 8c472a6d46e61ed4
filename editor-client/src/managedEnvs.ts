// The server's managed environments as the first-run commands use them: a new one for a plan (a Python 3.10+
// found on this machine, pip's progress in a notification), the switch of the server to it, the runtime the
// current one has, and the Cancel that the extension stopping brings to a running pip or export.
import * as fs from "node:fs";
import * as vscode from "vscode";
import { buildEnvironment, BuiltEnv, Cancelled, readRecord, removeStale, SetupError } from "./environments";
import { log, showError } from "./logger";
import { Cancel, output } from "./processes";
import { Fraction, Update } from "./progress";
import { pythonExtensionInterpreters, which } from "./python";
import { ServerController } from "./server";
import { EnvPlan, extrasFor, findBasePython, managedEnvOf, packageSpec, parseProbe, PROBE_SCRIPT, Runtime, runtimeFor, runtimeOf } from "./setup";
import { Settings } from "./settings";

type ProgressReporter = vscode.Progress<{ message?: string; increment?: number }>;

/** vscode.Progress, reported to by absolute fractions. */
export function reporter(progress: ProgressReporter): (u: Update) => void {
  const fraction = new Fraction();
  return (u) => progress.report({ message: u.message, increment: u.fraction === undefined ? undefined : fraction.to(u.fraction) });
}

/** Whether an NVIDIA driver answers (`nvidia-smi -L` exits 0). */
export async function hasNvidia(): Promise<boolean> {
  if (!which("nvidia-smi")) return false;
  const result = await output("nvidia-smi", ["-L"], { timeoutMs: 10_000 });
  return result.code === 0;
}

/** What the environments' commands read: the extension (its storage, its version), the server, the settings. */
export interface EnvHooks {
  context: vscode.ExtensionContext;
  server: ServerController;
  settings: () => Settings;
}

export class ManagedEnvs implements vscode.Disposable {
  /** Cancelled when the extension stops: a running pip or export stops with it (its unfinished folder removed). */
  private readonly stopping = new vscode.CancellationTokenSource();

  constructor(readonly hooks: EnvHooks) {
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
  orStopping(token: vscode.CancellationToken): Cancel {
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

  get storage(): string {
    return this.hooks.context.globalStorageUri.fsPath;
  }

  private get version(): string {
    return String((this.hooks.context.extension.packageJSON as { version?: string }).version ?? "0.0.0");
  }

  /** The runtime the server's environment has (its record), else the one that fits this machine. */
  async runtime(): Promise<Runtime> {
    const env = managedEnvOf(this.hooks.server.python ?? "", this.storage);
    return runtimeOf(readRecord(env ?? "")?.extras ?? []) ?? runtimeFor("local", await hasNvidia());
  }

  /**
   * Builds a new environment for `plan` (the previous one keeps serving meanwhile); undefined when it could not
   * (the message is shown) or was cancelled. `span`: the share of the caller's progress it takes.
   */
  async install(plan: EnvPlan, report: (u: Update) => void, token: Cancel, span?: [number, number]): Promise<BuiltEnv | undefined> {
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
  async switchTo(built: BuiltEnv, extra: [string, unknown][] = []): Promise<void> {
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
}

// Magicoder: Get Model: the exporter in the server's environment (or a new one with its tools), driven by its
// --progress json events: Magicoder-S-DS-6.7B from Hugging Face or a Hugging Face folder exported for this machine,
// or a folder exported before checked; magicoder.model set to the folder it gives.
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { BuiltEnv, EXPORTER_MODULES, missingModules } from "./environments";
import { CANCELLED, preflight, runExporter } from "./exporterRuns";
import { SETUP_SERVER } from "./firstRun";
import { log } from "./logger";
import { ManagedEnvs, reporter } from "./managedEnvs";
import { MODEL_ID, pickModelSource } from "./modelSources";
import { Cancel } from "./processes";
import { describeFigures, Figures, Update } from "./progress";

function folderName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").toLowerCase() || "model";
}

export class GetModelCommand {
  constructor(private readonly envs: ManagedEnvs) {}

  private get hooks() {
    return this.envs.hooks;
  }

  private modelsFolder(): string {
    return path.join(this.envs.storage, "models");
  }

  async run(): Promise<void> {
    const python = this.hooks.server.python;
    if (!python || this.hooks.server.lastStart !== "running") {
      // Not awaited inside this command: the notification may stay open.
      void vscode.window
        .showInformationMessage("Magicoder: set up the server first; Get Model runs the exporter in its environment.", "Set Up Server")
        .then((choice) => choice && vscode.commands.executeCommand(SETUP_SERVER, "local"));
      return;
    }
    const runtime = await this.envs.runtime();
    const target = runtime === "gpu" ? "cuda" : "cpu";
    const precision = target === "cuda" ? "fp16" : "int4";
    const hubOut = path.join(this.modelsFolder(), `${folderName(MODEL_ID.split("/")[1])}-${precision}-${target}`);
    const picked = await pickModelSource(this.hooks.server.python!, target, precision, hubOut);
    if (!picked) return;
    if (picked.kind === "hub") {
      const hubFigures = await picked.hubFigures();
      if (!(await this.confirmFigures(hubFigures))) return;
      await this.export(MODEL_ID, hubOut, target, hubFigures?.ok === false);
      return;
    }
    const folder = await this.pickFolder(picked.kind === "hf" ? "Export This Folder" : "Use This Folder");
    if (!folder) return;
    if (picked.kind === "hf") {
      const base = path.basename(folder) === "hf" ? `${path.basename(path.dirname(folder))}-hf` : path.basename(folder);
      const out = path.join(this.modelsFolder(), `${folderName(base)}-${precision}-${target}`);
      const figures = await preflight(this.hooks.server.python!, folder, target, out);
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
    const built = await this.envs.install({ runtime: await this.envs.runtime(), exporter: true }, report, token, [0, 0.4]);
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
      const cancel = this.envs.orStopping(token);
      const exporter = await this.withExporter(report, cancel);
      if (!exporter) return undefined;
      const folder = await runExporter(exporter.python, args(exporter.python), report, cancel, exporter.span, out, what, hint);
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
    if (got.built) await this.envs.switchTo(got.built, [["model", got.folder]]);
    else await vscode.workspace.getConfiguration("magicoder").update("model", got.folder, vscode.ConfigurationTarget.Global);
    log.info(`magicoder.model is now ${got.folder}`);
    void vscode.window.showInformationMessage(message);
  }
}

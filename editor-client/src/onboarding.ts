// The first run from the editor: the check after each server start (one notification per missing step, the
// walkthrough's context keys, the status bar's next step), the walkthrough's commands, one at a time (Magicoder:
// Set Up Server in setupServerCommand.ts, Magicoder: Get Model in getModelCommand.ts) and the walkthrough's sample.
import * as vscode from "vscode";
import { contextKeys, Facts, nextStep, NOTICES, SAMPLE, SAMPLE_SELECTION, shouldNotify, Step, WALKTHROUGH } from "./firstRun";
import { GetModelCommand } from "./getModelCommand";
import { log, showError } from "./logger";
import { EnvHooks, ManagedEnvs } from "./managedEnvs";
import { setupServer } from "./setupServerCommand";
import { managedEnvOf } from "./setup";
import { StatusModel } from "./status";

const NOTIFIED_KEY = "magicoder.firstRun.notified";
const NO_MODEL = /no model folder is configured/;

export interface OnboardingHooks extends EnvHooks {
  status: StatusModel;
  render: () => void;
}

export class Onboarding implements vscode.Disposable {
  private busy: string | undefined;
  private step: Step | undefined;
  private readonly notifying = new Set<Step>();
  private readonly envs: ManagedEnvs;
  private readonly models: GetModelCommand;

  constructor(private readonly hooks: OnboardingHooks) {
    this.envs = new ManagedEnvs(hooks);
    this.models = new GetModelCommand(this.envs);
  }

  dispose(): void {
    this.envs.dispose();
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
      if (pythonPath && !managedEnvOf(pythonPath, this.envs.storage)) return false;
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

  setupServer(modeArgument?: unknown): Promise<void> {
    return this.exclusive("Set Up Server", () => setupServer(this.envs, modeArgument));
  }

  getModel(): Promise<void> {
    return this.exclusive("Get Model", () => this.models.run());
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

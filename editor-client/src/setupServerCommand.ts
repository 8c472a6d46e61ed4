// Magicoder: Set Up Server: where the model runs (this machine, or the team's inference server and its URL), then
// a managed environment with the runtime that fits (CUDA when an NVIDIA driver answers, else the CPU) that the
// server switches to.
import * as vscode from "vscode";
import { readRecord } from "./environments";
import { hasNvidia, ManagedEnvs, reporter } from "./managedEnvs";
import { EnvPlan, managedEnvOf, Mode, runtimeFor } from "./setup";

export async function setupServer(envs: ManagedEnvs, modeArgument?: unknown): Promise<void> {
  const nvidia = await hasNvidia();
  const mode = modeArgument === "local" || modeArgument === "team" ? modeArgument : await pickMode(nvidia);
  if (!mode) return;
  let endpoint: string | undefined;
  if (mode === "team") {
    endpoint = await askEndpoint(envs.hooks.settings().endpoint);
    if (!endpoint) return;
  }
  const current = managedEnvOf(envs.hooks.settings().pythonPath, envs.storage);
  // Rerunning keeps what the environment had: the exporter's tools, once Get Model added them.
  const exporter = mode === "local" && (readRecord(current ?? "")?.extras.some((e) => e.startsWith("export")) ?? false);
  const plan: EnvPlan = { runtime: runtimeFor(mode, nvidia), exporter };
  const title = "Magicoder: setting up the server";
  const built = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    (progress, token) => envs.install(plan, reporter(progress), envs.orStopping(token)),
  );
  if (!built) return;
  const extra: [string, unknown][] = endpoint ? [["backend", "openai"], ["endpoint", endpoint]] : [];
  await envs.switchTo(built, extra);
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

async function pickMode(nvidia: boolean): Promise<Mode | undefined> {
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

/** The team server's URL, `current` (magicoder.endpoint) offered first. */
async function askEndpoint(current: string): Promise<string | undefined> {
  const answer = await vscode.window.showInputBox({
    title: "Magicoder: your team's inference server",
    prompt: "Base URL of its OpenAI-compatible API (saved as magicoder.endpoint in your user settings)",
    placeHolder: "https://gpu-box.example:8000/v1",
    value: current,
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

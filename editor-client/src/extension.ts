// Entry point: settings, commands, the status bar item and the server controller.
import * as vscode from "vscode";
import { GET_MODEL, OPEN_SAMPLE, SETUP_SERVER } from "./firstRun";
import { log, showError, showLogs } from "./logger";
import { Onboarding } from "./onboarding";
import { onPythonInterpreterChange } from "./python";
import { ASK_COMMAND, ServerController } from "./server";
import { SET_API_KEY_COMMAND, setApiKey } from "./secrets";
import { getterOf, readSettings, Settings } from "./settings";
import { StatusModel } from "./status";

let controller: ServerController | undefined;

function currentSettings(): Settings {
  const config = vscode.workspace.getConfiguration("magicoder");
  // Restricted Mode: no path is taken relative to (or inside, by ${workspaceFolder}) the untrusted folder.
  const folder = vscode.workspace.isTrusted ? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath : undefined;
  // pythonPath, serverPackage, backend, endpoint, allowInsecure and caBundle: the user-level value only (USER_ONLY).
  return readSettings(getterOf(config), { workspaceFolder: folder });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const status = new StatusModel();
  const item = vscode.window.createStatusBarItem("magicoder.status", vscode.StatusBarAlignment.Right, 100);
  item.name = "Magicoder";
  const render = () => {
    const view = status.view();
    item.text = view.text;
    item.tooltip = view.tooltip;
    item.command = view.command;
    item.backgroundColor = view.error ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    item.show();
  };
  let onboarding: Onboarding | undefined;
  const server = new ServerController({
    settings: currentSettings,
    status,
    render,
    secrets: context.secrets,
    afterStart: () => void onboarding?.check(),
    quiet: (message) => onboarding?.quiet(message) ?? false,
  });
  controller = server;
  onboarding = new Onboarding({ context, server, status, render, settings: currentSettings });
  const firstRun = onboarding;
  context.subscriptions.push(
    item,
    firstRun,
    server,
    vscode.commands.registerCommand("magicoder.showLogs", showLogs),
    vscode.commands.registerCommand("magicoder.restartServer", () => server.restart()),
    vscode.commands.registerCommand("magicoder.toggleInline", toggleInline),
    vscode.commands.registerCommand("magicoder.askWithInstruction", () => askWithInstruction(server)),
    vscode.commands.registerCommand(SET_API_KEY_COMMAND, () => setApiKeyCommand(context, server)),
    vscode.commands.registerCommand(SETUP_SERVER, (mode?: unknown) => firstRun.setupServer(mode)),
    vscode.commands.registerCommand(GET_MODEL, () => firstRun.getModel()),
    vscode.commands.registerCommand(OPEN_SAMPLE, () => firstRun.openSample()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration("magicoder")) return;
      void server.settingsChanged().then(() => firstRun.check());
    }),
    // Trusted now: the workspace's interpreter and folder may be used (see ServerController.doStart).
    vscode.workspace.onDidGrantWorkspaceTrust(() => void server.restart()),
  );
  render();
  // With no magicoder.pythonPath, a new interpreter picked in the Python extension restarts the server.
  void onPythonInterpreterChange(vscode.extensions, () => {
    if (!currentSettings().pythonPath) void server.restart();
  }).then((sub) => sub && context.subscriptions.push(sub), (error) => log.warn(`Python extension: ${String(error)}`));
  await server.start();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}

async function toggleInline(): Promise<void> {
  const config = vscode.workspace.getConfiguration("magicoder");
  const enabled = !config.get<boolean>("inline.enabled", true);
  // Where the user set it (workspace or user settings), else the user settings.
  const inspected = config.inspect<boolean>("inline.enabled");
  const target =
    inspected?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update("inline.enabled", enabled, target);
  log.info(`inline completions ${enabled ? "on" : "off"}`);
  void vscode.window.setStatusBarMessage(`Magicoder: inline completions ${enabled ? "on" : "off"}`, 3000);
}

/** Magicoder: Set API Key — the key of magicoder.endpoint's origin, into VS Code's secret storage. */
async function setApiKeyCommand(context: vscode.ExtensionContext, server: ServerController): Promise<void> {
  const result = await setApiKey({
    endpoint: () => currentSettings().endpoint,
    secrets: context.secrets,
    askKey: (options) => vscode.window.showInputBox(options),
    info: (message) => void vscode.window.showInformationMessage(message),
    error: (message) => void showError(message),
  });
  if (result) await server.apiKeyChanged();
}

/** Magicoder: Ask… — a free-text instruction for the selection (or the current line). */
async function askWithInstruction(server: ServerController): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage("Magicoder: open a file and select the code to change first.");
    return;
  }
  const client = server.languageClient;
  if (!client) {
    void showError("Magicoder: the server is not running.");
    return;
  }
  const instruction = await vscode.window.showInputBox({
    title: "Ask Magicoder",
    prompt: "What should Magicoder do with the selected code?",
    placeHolder: "e.g. add type hints and a docstring",
    ignoreFocusOut: true,
  });
  if (!instruction?.trim()) return;
  const { document, selection } = editor;
  const range = selection.isEmpty ? document.lineAt(selection.active.line).range : selection;
  const argument = {
    uri: client.code2ProtocolConverter.asUri(document.uri),
    version: document.version,
    range: client.code2ProtocolConverter.asRange(range),
    instruction: instruction.trim(),
  };
  await vscode.commands.executeCommand(ASK_COMMAND, argument);
}

// The "Magicoder" output channel: the extension's own messages, and (through vscode-languageclient)
// the server's stderr log and window/logMessage notifications.
import * as vscode from "vscode";

let channel: vscode.LogOutputChannel | undefined;

export function outputChannel(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel("Magicoder", { log: true });
  return channel;
}

export const log = {
  info: (message: string) => outputChannel().info(message),
  warn: (message: string) => outputChannel().warn(message),
  error: (message: string) => outputChannel().error(message),
};

export function showLogs(): void {
  outputChannel().show(true);
}

/** An error notification with a button to the logs. */
export async function showError(message: string, ...actions: string[]): Promise<string | undefined> {
  log.error(message);
  const choice = await vscode.window.showErrorMessage(message, ...actions, "Show Logs");
  if (choice === "Show Logs") showLogs();
  return choice;
}

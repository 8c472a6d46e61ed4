// Running the long first-run commands (pip, magicoder-export): output line by line, and Cancel that stops the
// command and everything it started. No runtime dependency on vscode.
import { spawn } from "node:child_process";
import * as readline from "node:readline";

/** Something that can be cancelled (vscode.CancellationToken fits). */
export interface Cancel {
  isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

export const NEVER: Cancel = {
  isCancellationRequested: false,
  onCancellationRequested: () => ({ dispose: () => undefined }),
};

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onStdout?: (line: string) => void;
  onStderr?: (line: string) => void;
  cancel?: Cancel;
  /** What Cancel sends first (the exporter cleans up on SIGTERM); SIGKILL follows after `graceMs`. */
  signal?: NodeJS.Signals;
  graceMs?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  cancelled: boolean;
  /** The command could not be started (ENOENT…). */
  error?: string;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // The command runs in its own process group (detached): its children (pip's builds) get the signal too.
    process.kill(process.platform === "win32" ? pid : -pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

/** Runs `command args`, handing each output line to the callbacks; Cancel stops it and its children. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { cancel = NEVER, signal = "SIGTERM", graceMs = 15_000 } = options;
  return new Promise((resolve) => {
    if (cancel.isCancellationRequested) return resolve({ code: null, signal: null, cancelled: true });
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: process.platform !== "win32",
    });
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const sub = cancel.onCancellationRequested(() => {
      if (cancelled || child.exitCode !== null || child.pid === undefined) return;
      cancelled = true;
      signalGroup(child.pid, signal);
      killTimer = setTimeout(() => child.pid !== undefined && signalGroup(child.pid, "SIGKILL"), graceMs);
    });
    const lines = (stream: NodeJS.ReadableStream | null, write?: (line: string) => void) => {
      if (!stream) return;
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity, terminal: false, historySize: 0 });
      rl.on("line", (line) => write?.(line));
    };
    lines(child.stdout, options.onStdout);
    lines(child.stderr, options.onStderr);
    let startError: string | undefined;
    child.on("error", (error) => {
      startError = error.message;
    });
    child.on("close", (code, sig) => {
      sub.dispose();
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal: sig, cancelled, ...(startError ? { error: startError } : {}) });
    });
  });
}

/** Runs a command and collects its output (short commands: probes, checks). */
export async function output(
  command: string,
  args: readonly string[],
  options: Omit<RunOptions, "onStdout" | "onStderr"> & { timeoutMs?: number } = {},
): Promise<RunResult & { stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const listeners: (() => unknown)[] = [];
  const cancel: Cancel = {
    get isCancellationRequested() {
      return timedOut || (options.cancel?.isCancellationRequested ?? false);
    },
    onCancellationRequested(listener) {
      listeners.push(listener);
      const sub = options.cancel?.onCancellationRequested(listener);
      return { dispose: () => sub?.dispose() };
    },
  };
  if (options.timeoutMs) {
    timer = setTimeout(() => {
      timedOut = true;
      for (const listener of listeners) listener();
    }, options.timeoutMs);
  }
  const result = await run(command, args, {
    ...options,
    graceMs: options.graceMs ?? 2000,
    cancel,
    onStdout: (line) => out.push(line),
    onStderr: (line) => err.push(line),
  });
  if (timer) clearTimeout(timer);
  return { ...result, stdout: out.join("\n"), stderr: err.join("\n") };
}

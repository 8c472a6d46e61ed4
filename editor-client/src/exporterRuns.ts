// magicoder-export run from the extension with --progress json: `preflight` for this machine's figures, and a
// build or describe whose events drive a notification's progress (its log goes to the output channel).
import * as fs from "node:fs";
import * as path from "node:path";
import { log, showError } from "./logger";
import { Cancel, output, run } from "./processes";
import { eventUpdate, ExportEvent, exportFailure, Figures, parseEvent, Update } from "./progress";

export const CANCELLED = Symbol("cancelled");

/** `magicoder-export preflight` in the server's environment: the figures for this machine, or undefined. */
export async function preflight(python: string, source: string, target: string, out: string): Promise<Figures | undefined> {
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

/**
 * Runs magicoder-export with --progress json: its events drive the notification, its log goes to the output
 * channel. Resolves with the folder it made or checked, CANCELLED (its unfinished folder removed) or undefined
 * (failed: said). `out`: the folder a build writes (its `.NAME.partial` is removed after a cancel too).
 */
export async function runExporter(
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

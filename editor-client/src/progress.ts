// Progress of the long first-run steps, the pure parts: pip's log lines (Set Up Server) and the exporter's
// `--progress json` events (Get Model) turned into a message and a fraction done, the preflight's figures into a
// sentence, and failures into one message that says what to do. No runtime dependency on vscode.

export interface Update {
  message?: string;
  /** The share of the whole task done, 0..1. */
  fraction?: number;
}

/** The share of the task done → the increments (percent) that vscode.Progress.report takes; never goes back. */
export class Fraction {
  private reported = 0;

  /** The increment to report for reaching `fraction` (0 when it is not ahead of what was reported). */
  to(fraction: number): number {
    const percent = Math.min(100, Math.max(0, fraction * 100));
    const increment = percent - this.reported;
    if (increment <= 0) return 0;
    this.reported = percent;
    return increment;
  }

  get percent(): number {
    return this.reported;
  }
}

/**
 * pip's lines (`pip install --progress-bar off`, not a terminal) → progress within [start, end] of the task:
 * resolving (Collecting/Processing: the count grows, the fraction approaches 60 % of the span), installing
 * (70 %), done (Successfully installed). The ERROR lines are kept for the failure message.
 */
export class PipProgress {
  private collected = 0;
  readonly errors: string[] = [];

  constructor(
    private readonly start = 0,
    private readonly end = 1,
  ) {}

  private at(share: number): number {
    return this.start + (this.end - this.start) * share;
  }

  line(raw: string): Update | undefined {
    const line = raw.trim();
    let match: RegExpExecArray | null;
    if (line.startsWith("ERROR:")) {
      this.errors.push(line);
      return undefined;
    }
    if ((match = /^(?:Collecting|Processing) (\S+)/.exec(line))) {
      this.collected++;
      const name = match[1].split("/").pop()!;
      return { message: `collecting ${name}`, fraction: this.at(0.6 * (this.collected / (this.collected + 12))) };
    }
    if ((match = /^Downloading (\S+)(?: \(([^)]+)\))?/.exec(line))) {
      const name = match[1].split("/").pop()!;
      return { message: `downloading ${name}${match[2] ? ` (${match[2]})` : ""}` };
    }
    if ((match = /^Installing collected packages: (.*)$/.exec(line))) {
      const count = match[1].split(",").filter((p) => p.trim()).length;
      return { message: `installing ${count} package${count === 1 ? "" : "s"}`, fraction: this.at(0.7) };
    }
    if (line.startsWith("Successfully installed")) return { message: "installed", fraction: this.at(1) };
    return undefined;
  }
}

/** One message for a failed pip run, saying what to do; `log` is the lines pip wrote. */
export function pipFailure(errors: readonly string[], log: readonly string[], spec: string): string {
  const all = [...errors, ...log].join("\n");
  const fix = "Set magicoder.serverPackage to a wheel file or a source folder to install offline";
  if (/No space left on device/i.test(all)) return "pip stopped: the disk is full. Free some space and run Magicoder: Set Up Server again.";
  if (/Could not find a version that satisfies|No matching distribution found/i.test(all)) {
    return `pip found no ${spec} on its package index (no network, or not published there). ${fix}, then run Magicoder: Set Up Server again.`;
  }
  if (/(Temporary failure in name resolution|Network is unreachable|Failed to establish a new connection|ConnectTimeout|ProxyError|SSLError|Connection refused)/i.test(all)) {
    return `pip could not reach its package index (check the network or proxy). ${fix}, then run Magicoder: Set Up Server again.`;
  }
  if (/(does not exist|is not a valid wheel filename|Invalid requirement|is not installable)/i.test(all)) {
    return `pip cannot install ${spec}: ${errors.at(-1) ?? "see the log"}. Check magicoder.serverPackage and run Magicoder: Set Up Server again.`;
  }
  const last = errors.at(-1) ?? log.filter((l) => l.trim()).at(-1) ?? "no output";
  return `pip failed to install ${spec}: ${last.replace(/^ERROR:\s*/, "")}. See the log (Magicoder: Show Logs).`;
}

/** One `--progress json` event of magicoder-export (export/progress.py documents them). */
export interface ExportEvent {
  event: "start" | "preflight" | "phase" | "step" | "done" | "error" | string;
  phase?: string;
  phases?: string[];
  message?: string;
  fraction?: number;
  done?: number;
  total?: number;
  unit?: string;
  kind?: string;
  exit_code?: number;
  output?: string;
  parity?: string;
  [key: string]: unknown;
}

/** A stdout line as an event, or undefined for anything else. */
export function parseEvent(line: string): ExportEvent | undefined {
  const text = line.trim();
  if (!text.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === "object" && typeof (value as ExportEvent).event === "string") return value as ExportEvent;
  } catch {
    // not an event
  }
  return undefined;
}

export const PHASE_TITLES: Record<string, string> = {
  preflight: "checking the machine",
  download: "downloading the checkpoint",
  load: "reading the checkpoint",
  describe: "reading the model folder",
  convert: "converting to ONNX",
  validate: "checking the export (parity gate)",
  publish: "finishing",
};

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** What the progress notification shows for an event (undefined: nothing to show). */
export function eventUpdate(e: ExportEvent): Update | undefined {
  const fraction = typeof e.fraction === "number" ? e.fraction : undefined;
  if (e.event === "phase" && e.phase) return { message: PHASE_TITLES[e.phase] ?? e.phase, fraction };
  if (e.event === "step" && e.phase) {
    const title = PHASE_TITLES[e.phase] ?? e.phase;
    if (e.unit === "bytes" && typeof e.done === "number" && typeof e.total === "number") {
      return { message: `${title}: ${gb(e.done)} of ${gb(e.total)}`, fraction };
    }
    return { message: e.message ? `${title}: ${e.message}` : title, fraction };
  }
  if (e.event === "done") return { message: "done", fraction: 1 };
  return undefined;
}

/** The figures of a `preflight` event. */
export interface Figures {
  precision: string;
  target: string;
  download_bytes: number;
  disk_bytes: number;
  free_disk_bytes: number;
  ram_bytes: number;
  available_ram_bytes: number | null;
  cores: number;
  minutes: { convert: number; validate: number; total: number };
  gate: "here" | "pending";
  ok: boolean;
  problems: string[];
}

function minutesText(minutes: number): string {
  if (minutes < 1) return "under a minute";
  if (minutes < 90) return `about ${Math.round(minutes)} min`;
  return `about ${(minutes / 60).toFixed(1)} h`;
}

/** What the export needs here and how long it takes, in one line (the quick pick's detail). */
export function figuresBody(f: Figures): string {
  const download = f.download_bytes > 0 ? `downloads ${gb(f.download_bytes)}, then ` : "";
  const cores = `${f.cores} core${f.cores === 1 ? "" : "s"}`;
  const ram = f.available_ram_bytes === null ? "" : ` (${gib(f.available_ram_bytes).replace(" GiB", "")} available)`;
  return (
    `${download}${minutesText(f.minutes.total)} on ${cores}; needs ${gib(f.disk_bytes)} disk ` +
    `(${gib(f.free_disk_bytes).replace(" GiB", "")} free), ${gib(f.ram_bytes)} RAM${ram}`
  );
}

/** The same, with what is made (for the log and the confirmation). */
export function describeFigures(f: Figures): string {
  return `${f.precision} for ${f.target.toUpperCase()}: ${figuresBody(f)}`;
}

/** One message for a failed export or check (from its `error` event, or its exit code and last log line). */
export function exportFailure(error: ExportEvent | undefined, code: number | null, lastLog: string, what: string): string {
  const message = (error?.message ?? lastLog) || `exit status ${code}`;
  switch (error?.kind) {
    case "preflight":
      return `${what}: this machine cannot hold it: ${message}`;
    case "disk_full":
      return `${what} stopped: the disk is full (${message}). Free some space and run Magicoder: Get Model again; nothing half-built was kept.`;
    case "parity":
      return `${what}: the result does not match the original model (parity gate failed), so it is not used. See the log (Magicoder: Show Logs).`;
    default:
      if (/No space left on device/i.test(message)) {
        return `${what} stopped: the disk is full. Free some space and run Magicoder: Get Model again.`;
      }
      return `${what} failed: ${message}`;
  }
}

// The server's stderr log lines ("2026-11-26 22:57:47,933 INFO lsp_server.protocol: message", Python's
// logging format) mapped to output channel levels. Pure.

export type Level = "trace" | "debug" | "info" | "warn" | "error";

const LEVELS: Record<string, Level> = {
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warn",
  ERROR: "error",
  CRITICAL: "error",
};

const PATTERN = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[,.]\d+)? (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/;

/**
 * The level and text of one stderr line. A line that is not a log record (a traceback, a warning
 * printed by a library) continues the previous record, or is an error when there is none.
 */
export function parseLogLine(line: string, previous: Level | undefined): { level: Level; message: string } {
  const match = PATTERN.exec(line);
  if (match) return { level: LEVELS[match[1]], message: match[2] };
  return { level: previous ?? "error", message: line };
}

export interface LevelWriter {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A line consumer that writes each stderr line at its level (its timestamp dropped: the channel adds one). */
export function stderrWriter(channel: LevelWriter): (line: string) => void {
  let previous: Level | undefined;
  return (line) => {
    const { level, message } = parseLogLine(line, previous);
    previous = level;
    channel[level](message);
  };
}

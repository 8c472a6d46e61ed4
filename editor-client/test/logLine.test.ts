import assert from "node:assert/strict";
import { test } from "node:test";
import { parseLogLine, stderrWriter } from "../src/logLine";

test("Python log records get their level, without the timestamp", () => {
  assert.deepEqual(parseLogLine("2026-11-26 22:57:47,933 INFO lsp_server.protocol: Ask Magicoder: 79 prompt tokens", undefined), {
    level: "info",
    message: "lsp_server.protocol: Ask Magicoder: 79 prompt tokens",
  });
  assert.equal(parseLogLine("2026-11-26 22:57:47,933 WARNING x: y", undefined).level, "warn");
  assert.equal(parseLogLine("2026-11-26 22:57:47,933 ERROR x: y", undefined).level, "error");
  assert.equal(parseLogLine("2026-11-26 22:57:47,933 CRITICAL x: y", undefined).level, "error");
  assert.equal(parseLogLine("2026-11-26 22:57:47,933 DEBUG x: y", undefined).level, "debug");
});

test("other lines continue the previous record, else they are errors", () => {
  assert.deepEqual(parseLogLine("Traceback (most recent call last):", "error"), {
    level: "error",
    message: "Traceback (most recent call last):",
  });
  assert.equal(parseLogLine("  more detail", "info").level, "info");
  assert.equal(parseLogLine("python: can't open file", undefined).level, "error");
});

test("stderrWriter routes lines to the channel's methods", () => {
  const got: string[] = [];
  const channel = {
    trace: (m: string) => got.push(`trace ${m}`),
    debug: (m: string) => got.push(`debug ${m}`),
    info: (m: string) => got.push(`info ${m}`),
    warn: (m: string) => got.push(`warn ${m}`),
    error: (m: string) => got.push(`error ${m}`),
  };
  const write = stderrWriter(channel);
  write("2026-11-26 22:57:47,933 WARNING a: b");
  write("  continued");
  write("2026-11-26 22:57:47,934 INFO c: d");
  assert.deepEqual(got, ["warn a: b", "warn   continued", "info c: d"]);
});

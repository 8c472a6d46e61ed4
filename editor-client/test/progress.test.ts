import assert from "node:assert/strict";
import { test } from "node:test";
import {
  describeFigures,
  eventUpdate,
  exportFailure,
  Figures,
  figuresBody,
  Fraction,
  parseEvent,
  pipFailure,
  PipProgress,
} from "../src/progress";

// What pip 23 writes without a terminal (pip install --progress-bar off), shortened.
const PIP_LOG = [
  "Looking in indexes: https://pypi.org/simple, file:///opt/pypi/simple",
  "Looking in links: /opt/wheels",
  "Processing ./wtest/magicoder_lsp-0.1.0-py3-none-any.whl",
  "Collecting pygls==2.1.1 (from magicoder-lsp==0.1.0)",
  "  Downloading pygls-2.1.1-py3-none-any.whl (68 kB)",
  "Processing /opt/pypi/files/cattrs-26.2.1-py3-none-any.whl (from magicoder-lsp==0.1.0)",
  "Collecting tokenizers==0.23.3 (from magicoder-lsp==0.1.0)",
  "  Downloading tokenizers-0.23.3-cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl (3.4 MB)",
  "Installing collected packages: typing-extensions, numpy, pygls, cattrs, tokenizers, magicoder-lsp",
  "Successfully installed cattrs-26.2.1 magicoder-lsp-0.1.0 numpy-2.4.6 pygls-2.1.1 tokenizers-0.23.3",
];

test("fractions become increments that never go back", () => {
  const f = new Fraction();
  assert.equal(f.to(0.1), 10);
  assert.equal(f.to(0.05), 0);
  assert.equal(Math.round(f.to(0.55)), 45);
  assert.equal(Math.round(f.to(2)), 45);
  assert.equal(f.percent, 100);
});

test("pip's lines: collecting grows towards 60 % of the span, installing is 70 %, done is 100 %", () => {
  const pip = new PipProgress(0.1, 0.9);
  const updates = PIP_LOG.map((line) => pip.line(line));
  assert.equal(updates[0], undefined); // Looking in indexes
  assert.deepEqual(updates[2]?.message, "collecting magicoder_lsp-0.1.0-py3-none-any.whl");
  assert.equal(updates[3]?.message, "collecting pygls==2.1.1");
  assert.equal(updates[4]?.message, "downloading pygls-2.1.1-py3-none-any.whl (68 kB)");
  assert.equal(updates[4]?.fraction, undefined);
  const collecting = updates.filter((u) => u?.message?.startsWith("collecting")).map((u) => u!.fraction!);
  assert.deepEqual(collecting, [...collecting].sort());
  assert.ok(collecting.every((f) => f > 0.1 && f < 0.1 + 0.8 * 0.6));
  assert.deepEqual(updates[8], { message: "installing 6 packages", fraction: 0.1 + 0.8 * 0.7 });
  assert.deepEqual(updates[9], { message: "installed", fraction: 0.9 });
  assert.deepEqual(pip.errors, []);
});

test("a failed pip run: one message that says what to do", () => {
  const spec = "magicoder-lsp[cpu]==0.1.0";
  const missing = new PipProgress();
  for (const line of [
    "ERROR: Could not find a version that satisfies the requirement magicoder-lsp==0.1.0 (from versions: none)",
    "ERROR: No matching distribution found for magicoder-lsp==0.1.0",
  ]) missing.line(line);
  const noIndex = pipFailure(missing.errors, [], spec);
  assert.match(noIndex, /found no magicoder-lsp\[cpu\]==0.1.0 on its package index/);
  assert.match(noIndex, /magicoder.serverPackage to a wheel file or a source folder/);
  const offline = pipFailure([], ["WARNING: Retrying ... Failed to establish a new connection: [Errno 101] Network is unreachable"], spec);
  assert.match(offline, /could not reach its package index/);
  const full = pipFailure(["ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"], [], spec);
  assert.match(full, /the disk is full/);
  const badWheel = pipFailure(["ERROR: /x/missing.whl[cpu] does not exist."], [], "/x/missing.whl[cpu]");
  assert.match(badWheel, /cannot install \/x\/missing.whl\[cpu\]: ERROR: \/x\/missing.whl\[cpu\] does not exist/);
  assert.match(badWheel, /Check magicoder.serverPackage/);
  assert.match(pipFailure(["ERROR: something else"], [], spec), /pip failed to install .*: something else\. See the log/);
  assert.match(pipFailure([], ["last words"], spec), /: last words\./);
});

test("the exporter's events: parsed from JSON lines only", () => {
  assert.deepEqual(parseEvent('{"event": "phase", "phase": "convert", "fraction": 0.2}'), { event: "phase", phase: "convert", fraction: 0.2 });
  assert.equal(parseEvent("[convert] layer 1 of 32"), undefined);
  assert.equal(parseEvent('{"no": "event"}'), undefined);
  assert.equal(parseEvent("{broken"), undefined);
  assert.equal(parseEvent("[1, 2]"), undefined);
});

test("events become the notification's message and fraction", () => {
  assert.deepEqual(eventUpdate({ event: "phase", phase: "convert", message: "x", fraction: 0.3 }), { message: "converting to ONNX", fraction: 0.3 });
  assert.deepEqual(eventUpdate({ event: "step", phase: "download", done: 1.5e9, total: 13.5e9, unit: "bytes", fraction: 0.05 }), {
    message: "downloading the checkpoint: 1.5 GB of 13.5 GB",
    fraction: 0.05,
  });
  assert.deepEqual(eventUpdate({ event: "step", phase: "convert", done: 3, total: 35, unit: "modules", message: "layer 2 of 32", fraction: 0.4 }), {
    message: "converting to ONNX: layer 2 of 32",
    fraction: 0.4,
  });
  assert.deepEqual(eventUpdate({ event: "done", output: "/m", parity: "passed", fraction: 1 }), { message: "done", fraction: 1 });
  assert.equal(eventUpdate({ event: "start", phases: [] }), undefined);
  assert.equal(eventUpdate({ event: "preflight" }), undefined);
});

const FIGURES: Figures = {
  precision: "int4",
  target: "cpu",
  download_bytes: 13.48e9,
  disk_bytes: 22.2 * 2 ** 30,
  free_disk_bytes: 74 * 2 ** 30,
  ram_bytes: 7.2 * 2 ** 30,
  available_ram_bytes: 22.1 * 2 ** 30,
  cores: 2,
  minutes: { convert: 2.8, validate: 3.5, total: 6.3 },
  gate: "here",
  ok: true,
  problems: [],
};

test("the preflight's figures in one line", () => {
  assert.equal(
    describeFigures(FIGURES),
    "int4 for CPU: downloads 13.5 GB, then about 6 min on 2 cores; needs 22.2 GiB disk (74.0 free), 7.2 GiB RAM (22.1 available)",
  );
  assert.equal(
    figuresBody({ ...FIGURES, download_bytes: 0, minutes: { convert: 0.1, validate: 0.2, total: 0.3 }, cores: 1, available_ram_bytes: null }),
    "under a minute on 1 core; needs 22.2 GiB disk (74.0 free), 7.2 GiB RAM",
  );
  assert.match(describeFigures({ ...FIGURES, minutes: { convert: 60, validate: 60, total: 120 } }), /about 2.0 h/);
});

test("a failed export: one message by kind", () => {
  const what = "The export";
  assert.match(exportFailure({ event: "error", kind: "disk_full", message: "no space left on the device holding /m" }, 2, "", what), /disk is full.*Free some space and run Magicoder: Get Model again; nothing half-built was kept/);
  assert.match(exportFailure({ event: "error", kind: "preflight", message: "not enough memory: …" }, 2, "", what), /cannot hold it: not enough memory/);
  assert.match(exportFailure({ event: "error", kind: "parity", message: "x" }, 3, "", what), /parity gate failed/);
  assert.equal(exportFailure({ event: "error", kind: "error", message: "/m has no config.json" }, 2, "", what), "The export failed: /m has no config.json");
  assert.equal(exportFailure(undefined, 1, "Traceback: boom", what), "The export failed: Traceback: boom");
  assert.equal(exportFailure(undefined, 1, "", what), "The export failed: exit status 1");
  assert.match(exportFailure(undefined, 1, "OSError: [Errno 28] No space left on device", what), /disk is full/);
});

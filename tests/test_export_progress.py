"""`--progress json`: the exporter's machine-readable progress (what the editor's Get Model shows), and
`magicoder-export preflight`, the figures shown before an export starts, without the exporter's tools."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from export import preflight, progress, source, spill
from export.cli import main as export_main
from export.known import MAGICODER_CONFIG, MAGICODER_DOWNLOAD_BYTES
from lsp_server.magicoder import MODEL_ID
from tests.helpers.paths import ROOT


def events_of(stdout: str) -> list[dict]:
    """Every stdout line as a JSON object (a line that is not one fails the test: stdout is the events only)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    out = []
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"stdout holds a line that is not a JSON event: {line!r}")
        assert isinstance(event, dict) and "event" in event, line
        out.append(event)
    return out


def export_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "export.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def assert_well_formed(events: list[dict]) -> None:
    """start first, done or error last, fractions in [0, 1] and never going back, phases in the planned order."""
    assert events[0]["event"] == "start" and events[-1]["event"] in ("done", "error"), events
    planned = events[0]["phases"]
    fractions = [e["fraction"] for e in events if "fraction" in e]
    assert all(0 <= f <= 1 for f in fractions) and fractions == sorted(fractions), fractions
    begun = [e["phase"] for e in events if e["event"] == "phase"]
    assert begun == [p for p in planned if p in begun], (begun, planned)
    for e in events:
        if e["event"] == "step":
            assert e["phase"] in planned and 0 <= e["done"] <= e["total"], e


def test_build_reports_each_phase_and_step_as_json(tiny_model: Path, tmp_path: Path):
    out = tmp_path / "model"
    done = export_cli("build", str(tiny_model / "hf"), "--output", str(out), "--progress", "json")
    assert done.returncode == 0, done.stderr
    events = events_of(done.stdout)
    assert_well_formed(events)
    assert events[0]["command"] == "build"
    assert events[0]["phases"] == ["preflight", "load", "convert", "validate", "publish"]  # a local folder: no download
    assert [e["phase"] for e in events if e["event"] == "phase"] == events[0]["phases"]
    figures = next(e for e in events if e["event"] == "preflight")
    assert figures["ok"] and figures["problems"] == [] and figures["precision"] == "int4" and figures["target"] == "cpu"
    assert figures["ram_bytes"] > 0 and figures["disk_bytes"] > 0 and figures["free_disk_bytes"] > 0
    layers = json.loads((tiny_model / "hf" / "config.json").read_text())["num_hidden_layers"]
    converted = [e["message"] for e in events if e["event"] == "step" and e["phase"] == "convert"]
    assert [f"layer {i} of {layers}" for i in range(1, layers + 1)] == [m for m in converted if m.startswith("layer")]
    checked = [e for e in events if e["event"] == "step" and e["phase"] == "validate"]
    assert any("onnxruntime" in e["message"] for e in checked) and any("transformers" in e["message"] for e in checked)
    assert events[-1] == {"event": "done", "output": str(out.resolve()), "parity": "passed", "fraction": 1.0}
    assert (out / "manifest.json").is_file()
    # The log is still on stderr, as without --progress json.
    assert "[convert]" in done.stderr and "[validate]" in done.stderr


def test_an_error_is_the_last_event_and_stdout_stays_json(tmp_path: Path):
    done = export_cli("build", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"), "--progress", "json")
    assert done.returncode == 2
    events = events_of(done.stdout)
    assert_well_formed(events)
    assert events[-1]["event"] == "error" and events[-1]["exit_code"] == 2 and events[-1]["kind"] == "error"
    assert "neither a model folder nor a Hugging Face id" in events[-1]["message"]


def test_sigterm_stops_the_export_and_removes_the_partial_folder(tiny_model: Path, tmp_path: Path):
    """What the editor's Cancel sends: the export stops, its .NAME.partial is removed, the last event says so."""
    out = tmp_path / "model"
    command = [sys.executable, "-m", "export.cli", "build", str(tiny_model / "hf"), "--output", str(out)]
    proc = subprocess.Popen([*command, "--progress", "json"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if json.loads(line).get("message", "").startswith("layer 1 of"):
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=120)
    events = events_of("".join(seen) + rest)
    assert proc.returncode == 130, events
    assert events[-1] == {"event": "error", "kind": "interrupted", "message": "interrupted", "exit_code": 130}
    assert not out.exists() and not out.with_name(".model.partial").exists()


def test_a_full_disk_is_reported_as_such(tiny_model: Path, tmp_path: Path, monkeypatch, capfd):
    real_init = spill.Spill.__init__

    class FullDisk:
        def __init__(self, path):
            self.file = open(path, "wb")

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def flush(self):
            self.file.flush()

        def close(self):
            self.file.close()

    def init(self, path):
        real_init(self, path)
        self._file.close()
        self._file = FullDisk(path)

    monkeypatch.setattr(spill.Spill, "__init__", init)
    out = tmp_path / "model"
    assert export_main(["build", str(tiny_model / "hf"), "--output", str(out), "--progress", "json"]) == 2
    events = events_of(capfd.readouterr().out)
    assert events[-1]["kind"] == "disk_full" and "no space left on the device" in events[-1]["message"]
    assert not out.exists() and not out.with_name(".model.partial").exists()


def test_preflight_gives_the_figures_for_magicoder_without_the_network(tmp_path: Path, monkeypatch, capfd):
    def offline(*args, **kwargs):
        raise AssertionError("the preflight of the known model must not reach the Hub")

    monkeypatch.setattr(source, "hub_config", offline)
    monkeypatch.setattr(source, "hub_files", offline)
    assert export_main(["preflight", "--output", str(tmp_path / "m"), "--progress", "json"]) == 0
    events = events_of(capfd.readouterr().out)
    assert_well_formed(events)
    figures = next(e for e in events if e["event"] == "preflight")
    needs = preflight.estimate(MAGICODER_CONFIG, "int4", "cpu", "builder", 32, MAGICODER_DOWNLOAD_BYTES)
    assert figures["source"] == MODEL_ID and figures["params"] == needs.params == 6_740_512_768
    assert (figures["ram_bytes"], figures["disk_bytes"], figures["onnx_bytes"]) == (needs.ram, needs.disk, needs.onnx)
    assert figures["download_bytes"] == MAGICODER_DOWNLOAD_BYTES
    # The measured 2-core figures (bench/results/EXPORT_FULLSIZE.md): conversion 2.8 min, gate 3.5 min.
    assert figures["minutes"]["convert"] == pytest.approx(2.8, abs=0.1)
    assert 1.7 <= figures["minutes"]["validate"] <= 3.6
    assert events[-1]["event"] == "done"


def test_preflight_names_what_this_machine_lacks(tmp_path: Path, monkeypatch, capfd):
    monkeypatch.setattr(preflight, "available_memory_bytes", lambda: 2 * 2**30)
    monkeypatch.setattr(preflight, "free_disk_bytes", lambda path: 2**30)
    assert export_main(["preflight", "--output", str(tmp_path / "m"), "--progress", "json"]) == 0
    figures = next(e for e in events_of(capfd.readouterr().out) if e["event"] == "preflight")
    assert not figures["ok"] and len(figures["problems"]) == 2
    assert figures["problems"][0].startswith("not enough memory") and figures["problems"][1].startswith(
        "not enough disk"
    )
    assert (figures["available_ram_bytes"], figures["free_disk_bytes"]) == (2 * 2**30, 2**30)


def test_build_refuses_with_the_preflight_figures_first(tiny_model: Path, tmp_path: Path, monkeypatch, capfd):
    monkeypatch.setattr(preflight, "available_memory_bytes", lambda: 2**20)
    assert export_main(["build", str(tiny_model / "hf"), "--output", str(tmp_path / "m"), "--progress", "json"]) == 2
    events = events_of(capfd.readouterr().out)
    assert [e["event"] for e in events][-2:] == ["preflight", "error"]
    assert events[-1]["kind"] == "preflight" and events[-1]["message"].startswith("not enough memory")


def test_cuda_preflight_scales_time_and_reports_the_gate_elsewhere(tmp_path: Path, monkeypatch, capfd):
    monkeypatch.setattr("export.cli.gate_runs_here", lambda options: options.target == "cpu")
    assert export_main(["preflight", "--target", "cuda", "--output", str(tmp_path / "m"), "--progress", "json"]) == 0
    figures = next(e for e in events_of(capfd.readouterr().out) if e["event"] == "preflight")
    assert figures["precision"] == "fp16" and figures["gate"] == "pending" and figures["minutes"]["validate"] == 0
    assert figures["minutes"]["convert"] == pytest.approx(1.1, abs=0.1)


def test_preflight_runs_without_the_exporters_tools():
    """An editor asks for the figures before it installs torch, transformers, onnx and onnxruntime-genai."""
    blocked = ["torch", "transformers", "onnx", "onnxruntime_genai", "huggingface_hub", "onnx_ir", "safetensors"]
    code = (
        "import sys, importlib.abc\n"
        f"BLOCKED = {blocked!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError(f'blocked: {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from export.cli import main\n"
        "sys.exit(main(['preflight', '--progress', 'json']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    events = events_of(done.stdout)
    assert next(e for e in events if e["event"] == "preflight")["params"] == 6_740_512_768


def test_describe_check_writes_nothing(tiny_model: Path, tmp_path: Path, capfd):
    before = {p.name: p.read_bytes() for p in tiny_model.iterdir() if p.is_file()}
    assert export_main(["describe", str(tiny_model), "--check", "--progress", "json"]) == 0
    events = events_of(capfd.readouterr().out)
    assert_well_formed(events)
    assert events[-1]["event"] == "done" and events[-1]["parity"] == "passed"
    assert {p.name: p.read_bytes() for p in tiny_model.iterdir() if p.is_file()} == before
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.onnx").write_bytes(b"not a graph")
    assert export_main(["describe", str(bad), "--check", "--progress", "json"]) == 2
    events = events_of(capfd.readouterr().out)
    assert events[-1]["event"] == "error" and sorted(p.name for p in bad.iterdir()) == ["model.onnx"]


def test_reporter_fractions_follow_the_planned_phases(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    with path.open("w") as out:
        reporter = progress.Reporter(out, "build", ["download", "convert"])
        reporter.phase("download")
        reporter.step("download", 50, 100, "bytes")
        reporter.step("convert", 1, 2)  # a step counts in its own phase's share
        reporter.step("unplanned", 1, 2)  # unknown phases never move the fraction
        reporter.step("download", 99, 100)  # nor does a late step of an earlier phase move it back
    events = events_of(path.read_text())
    weights = progress.WEIGHTS["download"], progress.WEIGHTS["convert"]
    total = sum(weights)
    assert [e["event"] for e in events] == ["start", "phase", "step", "step", "step", "step"]
    assert events[2]["fraction"] == pytest.approx(0.5 * weights[0] / total, abs=1e-4)
    assert events[3]["fraction"] == pytest.approx((weights[0] + 0.5 * weights[1]) / total, abs=1e-4)
    assert events[3]["fraction"] == events[4]["fraction"] == events[5]["fraction"]


def test_a_hub_download_reports_its_bytes(tmp_path: Path, monkeypatch, capfd):
    """The download's steps come from the bytes in the repository's blobs folder, whatever the downloader shows."""
    cache = tmp_path / "hub"
    blobs = source.repo_blobs("someone/model", cache)
    release = threading.Event()

    def download(repo, cache_dir, patterns):
        blobs.mkdir(parents=True)
        (blobs / "a.incomplete").write_bytes(b"\0" * 600)
        release.wait(5)
        (blobs / "a.incomplete").rename(blobs / "a")
        (blobs / "b").write_bytes(b"\0" * 400)
        return tmp_path / "snapshot"

    monkeypatch.setattr(source, "hub_download", download)
    src = source.Source("someone/model", MAGICODER_CONFIG, None, ("*.safetensors",), 1000)
    with progress.json_progress("build", ["download", "load"]):
        timer = threading.Timer(0.5, release.set)
        timer.start()
        with monkeypatch.context() as m:
            m.setattr(progress.DownloadWatch, "__init__", _fast_watch)
            source.fetch(src, cache)
        timer.join()
    events = events_of(capfd.readouterr().out)
    steps = [e for e in events if e["event"] == "step"]
    assert steps[0]["phase"] == "download" and steps[0]["total"] == 1000
    assert any(e["done"] == 600 for e in steps) and steps[-1]["done"] == 1000
    assert all(e["unit"] == "bytes" for e in steps)


_real_watch_init = progress.DownloadWatch.__init__


def _fast_watch(self, folder, total, interval_s=1.0):
    _real_watch_init(self, folder, total, 0.05)

"""The benchmarks' moving parts at a tiny size, on the tiny test model: a worker process answering the engine
benchmark's commands, the typing storm against the real server, and the remote benchmark against
llama-cpp-python's server."""

from __future__ import annotations

import json
from pathlib import Path

from bench.lib.prompts import code_prompts
from bench.lib.worker import Worker


def test_a_worker_process_answers_generate_reuse_and_rss(tiny_model: Path) -> None:
    prompts, doc, edited = code_prompts(tiny_model / "tokenizer.json", (40,), 120)
    worker = Worker("ours", "ours", tiny_model, 1)
    try:
        reply = worker.ask_raw({"op": "generate", "ids": prompts[40], "new": 6})
        assert 1 <= len(reply["tokens"]) <= 6 and reply["ttft_s"] > 0
        reuse = worker.ask_raw({"op": "reuse", "doc": doc, "edited": edited})
        assert 0 < reuse["cached"] < len(edited)  # the prefix before the one-character edit, not the whole
        assert 20 < worker.ask_raw({"op": "rss"})["rss_mb"] < 4000
    finally:
        worker.close()
    assert worker.proc.returncode == 0


def test_a_small_typing_storm_answers_every_request(tiny_model: Path, tmp_path: Path) -> None:
    from bench.typing_storm import main

    assert main(["--keystrokes", "20", "--model", str(tiny_model), "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "storm.json").read_text())
    assert data["unanswered"] == 0 and not data["server_crashed"] and data["last_status"] == "ready"
    assert data["inline_answered"] + data["inline_cancelled"] == 20
    assert data["cheap_p50_ms"] > 0 and data["rss_before_mb"] > 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- section storm -->" in text and "| server crashed | False (after" in text


def test_a_small_remote_benchmark_cancels_generations_on_the_server(tiny_model: Path, tmp_path: Path) -> None:
    from bench.remote_bench import main
    from tests.helpers.llama_server import require_llama_server

    require_llama_server()
    argv = ["--pairs", "2", "--cancels", "2", "--keystrokes", "20", "--model", str(tiny_model), "--out", str(tmp_path)]
    assert main(argv) == 0
    data = json.loads((tmp_path / "remote.json").read_text())
    overhead, cancel, storm = data["overhead"], data["cancel"], data["storm"]
    assert overhead["pairs"] == 2 and overhead["same_body_calls"] == 4  # the bare client replayed the LSP's request
    assert overhead["lsp_ms"]["p50"] > 0 and overhead["raw_ms"]["p50"] > 0
    # Each cancel answered as cancelled and stopped the server's generation long before its 400 tokens.
    assert cancel["answered_cancelled"] == 2 and cancel["ran_to_end"] == 0
    assert cancel["tokens_per_generation"]["max"] < 400
    assert storm["unanswered"] == 0 and storm["lsp_alive"] and storm["llama_server_alive"]
    assert storm["inline_answered"] + storm["inline_cancelled"] == 20
    assert "<!-- section remote -->" in (tmp_path / "RESULTS.md").read_text()


def test_a_small_quality_benchmark_writes_its_section(tiny_model: Path, tmp_path: Path) -> None:
    from bench.quality import main

    argv = ["--limit", "4", "--tiny-limit", "2", "--model", str(tiny_model), "--out", str(tmp_path)]
    assert main([*argv, "--runs", str(tmp_path / "runs")]) == 0
    data = json.loads((tmp_path / "quality.json").read_text())
    assert data["scripted-humaneval"]["summary"]["instruction"]["passed"] == 4
    assert data["scripted-infill"]["summary"]["single-line"]["passed"] == 4
    assert data["scripted-unmatched"]["prompts"] == 0
    assert data["tiny-humaneval"]["summary"]["instruction"]["cases"] == 2
    text = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- section quality -->" in text and "| scripted | instruction | 4 / 4 | 100.0 % |" in text

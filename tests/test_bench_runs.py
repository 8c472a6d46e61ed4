"""The benchmarks' moving parts at a tiny size, on the tiny test model: a worker process answering the engine
benchmark's commands, and the typing storm against the real server."""

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

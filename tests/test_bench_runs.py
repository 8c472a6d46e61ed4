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


def test_a_short_soak_answers_every_request_and_reports_each_window(tiny_model: Path, tmp_path: Path) -> None:
    from bench.soak import main

    argv = ["--seconds", "20", "--window-minutes", "0.25", "--sample-seconds", "5"]
    assert main([*argv, "--model", str(tiny_model), "--out", str(tmp_path)]) in (0, 1)  # 1: a target missed
    data = json.loads((tmp_path / "soak.json").read_text())
    assert data["duration_s"] == 20 and data["window_s"] == 15
    assert [w["index"] for w in data["windows"]] == [0, 1]  # 0-15 s, 15-20 s
    assert [s["label"] for s in data["samples"]][:5] == ["0", "0.08", "0.17", "0.25", "0.33"]
    assert all(s["rss_mb"] > 0 and s["threads"] > 0 and s["fds"] > 0 for s in data["samples"])
    totals, verdict, traffic = data["totals"], data["verdict"], data["traffic"]
    assert totals["sent"] > 50 and totals["unanswered"] == 0 and totals["answered"] == totals["sent"]
    assert totals["cancelled"] > 0  # superseded completions answered -32800
    assert verdict["unanswered_ok"] and verdict["alive"] and data["exit_code"] == 0
    assert traffic["keystrokes"] > 0 and traffic["opened"] > 12 and traffic["closed"] > 0 and traffic["asks"] > 0
    for window in data["windows"]:
        assert set(window["latency_ms"]) == {"inline", "codeAction", "ask"}
        assert window["sent_total"] == window["answered_total"] and window["unanswered_total"] == 0
    assert data["windows"][0]["latency_ms"]["codeAction"]["p50"] > 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- section soak -->" in text and "| requests sent / answered / unanswered |" in text


def test_a_small_edit_cost_run_writes_its_section(tmp_path: Path) -> None:
    from bench.edit_cost import main

    assert main(["--sizes", "50", "500", "--edits", "5", "--rounds", "2", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "edit_cost.json").read_text())
    assert [size["lines"] for size in data["sizes"]] == [50, 500]
    assert all(size["request_alone_p50_ms"] > 0 and size["per_edit_p50_ms"] >= 0 for size in data["sizes"])
    assert "<!-- section edit-cost -->" in (tmp_path / "RESULTS.md").read_text()


def test_a_small_many_documents_run_answers_every_completion(tmp_path: Path) -> None:
    from bench.many_documents import main

    argv = ["--documents", "1", "3", "--lines", "200", "--keystrokes", "45", "--out", str(tmp_path)]
    assert main(argv) == 0
    data = json.loads((tmp_path / "many_documents.json").read_text())
    assert [s["documents"] for s in data["servers"]] == [1, 3]
    assert all(s["keystrokes"] == 45 and s["new_line_keystrokes"] >= 1 and s["p50_ms"] > 0 for s in data["servers"])
    assert "<!-- section many-documents -->" in (tmp_path / "RESULTS.md").read_text()

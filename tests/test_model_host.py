"""The model host without a server: magicoder/status notifications (short generations do not flicker),
and the one warning per load for a model folder that was not checked or failed its check."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from lsprotocol import types

from lsp_server import model_host
from lsp_server.engine import CancelToken, Engine
from lsp_server.model_host import BUSY_AFTER_S, ModelHost
from lsp_server.settings import Settings
from tests.helpers.recording_host import RecordingHost, fake, make_host, start_host

FIM_PROMPT = "<\uff5cfim\u2581begin\uff5c>x = <\uff5cfim\u2581hole\uff5c>\n<\uff5cfim\u2581end\uff5c>"


async def loaded_host(token_ms: float) -> tuple[ModelHost, RecordingHost]:
    """The model host on the fake engine, loaded; its client records the statuses after the load."""
    client = await start_host(factory=fake(token_ms=token_ms), model="m")
    return client.model, client


async def test_a_short_generation_sends_no_busy_and_refreshes_tok_s_at_most_every_few_seconds(monkeypatch):
    host, client = await loaded_host(token_ms=0.0)
    engine = await host.engine()
    for _ in range(5):
        await host.generate(engine, FIM_PROMPT, 8, (), CancelToken())
    assert client.statuses == []  # keystroke after keystroke, "ready" just sent: no notification each time
    monkeypatch.setattr(model_host, "STATUS_REFRESH_S", 0.0)
    await host.generate(engine, FIM_PROMPT, 8, (), CancelToken())
    assert [s["state"] for s in client.statuses] == ["ready"] and "tokensPerSecond" in client.statuses[0]


async def test_a_long_generation_is_busy_then_ready():
    host, client = await loaded_host(token_ms=BUSY_AFTER_S * 1000)
    engine = await host.engine()
    await host.generate(engine, FIM_PROMPT, 8, (), CancelToken())
    assert [s["state"] for s in client.statuses] == ["busy", "ready"]
    await asyncio.sleep(BUSY_AFTER_S * 2)
    assert len(client.statuses) == 2  # no late "busy" after the end


async def test_a_prompt_given_as_a_function_is_built_in_the_generation_thread() -> None:
    host, _ = await loaded_host(token_ms=0.0)
    engine = await host.engine()
    built_in: list[str] = []

    def build() -> str:
        built_in.append(threading.current_thread().name)
        return FIM_PROMPT

    by_function = await host.generate(engine, build, 8, (), CancelToken())
    by_text = await host.generate(engine, FIM_PROMPT, 8, (), CancelToken())
    assert by_function.text == by_text.text != ""
    assert built_in and built_in[0] != threading.current_thread().name  # not on the event loop


def linked_model(model: Path, dest: Path, report: dict | str | None) -> Path:
    """The model's files linked into ``dest``, with its own parity.json (none when ``report`` is None)."""
    dest.mkdir()
    for name in ("model.onnx", "model.onnx.data", "tokenizer.json", "tokenizer_config.json", "manifest.json"):
        (dest / name).symlink_to(model / name)
    if report is not None:
        (dest / "parity.json").write_text(report if isinstance(report, str) else json.dumps(report))
    return dest


async def load_real(folder: Path) -> tuple[ModelHost, RecordingHost]:
    client = make_host(factory=lambda settings: Engine(folder), model=str(folder))
    await client.model.start_loading(client.settings)
    return client.model, client


@pytest.mark.parametrize(
    ("report", "status"),
    [
        ({"status": "pending", "passed": False}, "pending"),
        ({"status": "failed", "passed": False, "kind": "consistency"}, "failed"),
        ({"passed": False}, "failed"),  # written before reports had a status
        (None, "missing"),
        ("{not json", "unreadable"),
    ],
)
async def test_a_folder_not_checked_or_failed_is_told_once_per_load(tiny_model, tmp_path, report, status):
    folder = linked_model(tiny_model, tmp_path / "model", report)
    host, client = await load_real(folder)
    engine = await host.engine()
    for _ in range(2):
        await host.generate(engine, FIM_PROMPT, 2, (), CancelToken())
    assert len(client.messages) == 1  # per load, not per request
    kind, text = client.messages[0]
    assert kind == types.MessageType.Warning and engine.gate.status == status
    assert str(folder) in text and f"parity status: {status}" in text and f"magicoder-export validate {folder}" in text
    await host.start_loading(Settings(model=str(folder)))
    assert [m[1] for m in client.messages] == [text, text]


@pytest.mark.parametrize("report", [{"status": "passed", "passed": True}, {"passed": True}])
async def test_a_passed_folder_loads_without_a_warning(tiny_model, tmp_path, report):
    host, client = await load_real(linked_model(tiny_model, tmp_path / "model", report))
    assert client.messages == [] and (await host.engine()).gate.passed

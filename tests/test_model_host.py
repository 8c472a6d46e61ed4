"""The model host's magicoder/status notifications, without a server: short generations do not flicker."""

from __future__ import annotations

import asyncio
import threading

from lsprotocol import types

from lsp_server import model_host
from lsp_server.engine import CancelToken
from lsp_server.fake_engine import fake_factory
from lsp_server.model_host import BUSY_AFTER_S, STATUS_NOTIFICATION, ModelHost
from lsp_server.settings import Settings

FIM_PROMPT = "<\uff5cfim\u2581begin\uff5c>x = <\uff5cfim\u2581hole\uff5c>\n<\uff5cfim\u2581end\uff5c>"


class Recorder:
    def __init__(self) -> None:
        self.states: list[dict] = []

    def notify(self, method: str, params: dict) -> None:
        assert method == STATUS_NOTIFICATION
        self.states.append(params)

    def show_message(self, kind: types.MessageType, text: str) -> None:
        pass

    async def begin_progress(self, title: str, message: str, cancel: CancelToken | None = None):
        class Done:
            def end(self, message: str | None = None) -> None:
                pass

        return Done()


async def loaded_host(token_ms: float) -> tuple[ModelHost, Recorder]:
    client = Recorder()
    host = ModelHost(client, lambda settings: fake_factory(settings, token_ms=token_ms))
    await host.start_loading(Settings(model="m"))
    assert [s["state"] for s in client.states] == ["loading", "ready"]
    client.states.clear()
    return host, client


async def test_a_short_generation_sends_no_busy_and_refreshes_tok_s_at_most_every_few_seconds(monkeypatch):
    host, client = await loaded_host(token_ms=0.0)
    engine = await host.engine()
    for _ in range(5):
        await host.generate(engine, FIM_PROMPT, 8, (), CancelToken())
    assert client.states == []  # keystroke after keystroke, "ready" just sent: no notification each time
    monkeypatch.setattr(model_host, "STATUS_REFRESH_S", 0.0)
    await host.generate(engine, FIM_PROMPT, 8, (), CancelToken())
    assert [s["state"] for s in client.states] == ["ready"] and "tokensPerSecond" in client.states[0]


async def test_a_long_generation_is_busy_then_ready():
    host, client = await loaded_host(token_ms=BUSY_AFTER_S * 1000)
    engine = await host.engine()
    await host.generate(engine, FIM_PROMPT, 8, (), CancelToken())
    assert [s["state"] for s in client.states] == ["busy", "ready"]
    await asyncio.sleep(BUSY_AFTER_S * 2)
    assert len(client.states) == 2  # no late "busy" after the end


async def test_a_prompt_given_as_a_function_is_built_in_the_generation_thread():
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

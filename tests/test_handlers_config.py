"""Settings in process: initializationOptions, workspace/didChangeConfiguration (pushed or pulled), model
reloads and the one message about invalid values, against a recording host."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from lsprotocol import types

from lsp_server.handlers import config
from lsp_server.settings import MODEL_ENV, Settings
from tests.helpers.recording_host import RecordingHost, make_host, start_host


@pytest.fixture
def server_logger() -> Iterator[logging.Logger]:
    """The server's logger; its level is put back after the test (logLevel changes it process-wide)."""
    logger = logging.getLogger(config.LOGGER)
    level = logger.level
    yield logger
    logger.setLevel(level)


def warnings(host: RecordingHost) -> list[str]:
    return host.texts(types.MessageType.Warning)


def test_initialization_options_in_any_shape_become_the_settings():
    host = make_host()
    config.initialize(host, {"magicoder": {"maxNewTokens": 100, "inline": {"enabled": False, "debounceMs": 10}}})
    assert host.settings == Settings(max_new_tokens=100, inline_enabled=False, debounce_ms=10)
    assert host.messages == []


def test_invalid_initialization_options_fall_back_with_one_message():
    host = make_host()
    config.initialize(host, {"maxNewTokens": "many", "device": "gpu", "temperature": 9, "debounceMs": 0})
    assert host.settings == Settings(debounce_ms=0)
    (message,) = warnings(host)
    assert message.startswith("Magicoder: ignored invalid settings: ")
    for key in ("maxNewTokens='many'", "device='gpu'", "temperature=9"):
        assert key in message
    other = make_host()
    config.initialize(other, ["not", "an", "object"])
    assert other.settings == Settings() and len(warnings(other)) == 1


def test_the_command_line_model_wins_over_the_option_and_the_environment(monkeypatch):
    monkeypatch.setenv(MODEL_ENV, "/models/env")
    host = make_host()
    config.initialize(host, {"model": "/models/option"})
    assert host.settings.model == "/models/option"
    config.initialize(host, None)
    assert host.settings.model == "/models/env"
    host.model_override = "/models/cli"
    config.initialize(host, {"model": "/models/option"})
    assert host.settings.model == "/models/cli"


def test_log_level_sets_the_server_s_logger(server_logger: logging.Logger):
    config.initialize(make_host(), {"logLevel": "DEBUG"})
    assert server_logger.level == logging.DEBUG


async def test_start_loads_the_model_with_progress():
    host = make_host()
    config.initialize(host, {"model": "/models/first"})
    config.start(host)
    assert host.model.loading is not None
    await host.model.loading
    assert host.states == ["loading", "ready"] and host.statuses[-1]["model"] == "fake-first"
    (progress,) = host.progress
    assert (progress.title, progress.message) == ("Magicoder", "loading the model /models/first")
    assert progress.ended and (progress.end_message or "").startswith("loaded in ")


async def test_changes_apply_live_and_keep_the_settings_they_do_not_name():
    host = await start_host(max_new_tokens=100)
    await config.did_change_configuration(host, {"magicoder": {"inline": {"enabled": False}}})
    assert host.settings == Settings(max_new_tokens=100, inline_enabled=False)
    await config.did_change_configuration(host, {"maxNewTokens": -5})  # invalid: its default, not the old value
    assert host.settings.max_new_tokens == Settings().max_new_tokens and not host.settings.inline_enabled
    (message,) = warnings(host)
    assert "maxNewTokens=-5" in message
    assert host.states == []  # nothing to reload


@pytest.mark.parametrize("empty", [None, {}])
async def test_an_empty_notification_pulls_the_configuration(empty: object):
    host = await start_host()
    host.configuration_answer = {"inlineEnabled": False}
    await config.did_change_configuration(host, empty)
    assert host.configuration_requests == 1 and host.settings.inline_enabled is False


async def test_a_client_that_cannot_be_asked_changes_nothing():
    host = await start_host(max_new_tokens=100)
    await config.did_change_configuration(host, None)  # configuration_answer None: no answer
    assert host.configuration_requests == 1 and host.settings == Settings(max_new_tokens=100) and host.messages == []


@pytest.mark.parametrize(
    ("change", "model"),
    [
        ({"model": "/models/other"}, "fake-other"),
        ({"device": "cpu"}, "fake-fake"),
        ({"threads": 3}, "fake-fake"),
    ],
)
async def test_model_settings_reload_the_model(change: dict, model: str):
    host = await start_host(model="/models/fake")
    await config.did_change_configuration(host, change)
    assert host.model.is_loading
    await host.model.engine()
    assert host.states == ["loading", "ready"] and host.statuses[-1]["model"] == model
    assert [p.message for p in host.progress] == [f"loading the model {host.settings.model}"]


async def test_cheap_settings_and_an_overridden_model_do_not_reload():
    host = await start_host(model="/models/cli")
    host.model_override = "/models/cli"
    await config.did_change_configuration(host, {"temperature": 0.5, "model": "/models/option"})
    assert host.settings.temperature == 0.5 and host.settings.model == "/models/cli"
    assert not host.model.is_loading and host.states == []


async def test_a_change_before_the_first_load_is_used_by_it():
    host = make_host()
    config.initialize(host, {})
    await config.did_change_configuration(host, {"model": "/models/early"})
    assert host.model.loading is None and host.states == []  # `initialized` has not come: no load yet
    config.start(host)
    await host.model.engine()
    assert host.statuses[-1]["model"] == "fake-early"

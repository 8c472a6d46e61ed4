"""Typed settings: defaults, camelCase / nested / wrapped shapes, bad values, live updates, model precedence."""

from __future__ import annotations

import pytest

from lsp_server.settings import (
    MODEL_ENV,
    Settings,
    flatten_options,
    needs_reload,
    parse_settings,
    problems_message,
    update_settings,
)


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)


def test_defaults_without_options():
    assert parse_settings(None) == (Settings(), [])


def test_camel_case_options_are_typed():
    settings, problems = parse_settings(
        {
            "maxNewTokens": 64,
            "inlineEnabled": False,
            "threads": 3,
            "device": "cuda",
            "temperature": 1,
            "debounceMs": 0,
            "previewEdits": True,
            "logLevel": "DEBUG",
            "extra": 1,
        }
    )
    assert (settings.max_new_tokens, settings.inline_enabled, settings.threads, settings.device) == (
        64,
        False,
        3,
        "cuda",
    )
    assert settings.temperature == 1.0 and type(settings.temperature) is float
    assert (settings.debounce_ms, settings.preview_edits, settings.log_level) == (0, True, "debug")
    assert problems == []


@pytest.mark.parametrize(
    "options, key",
    [
        ({"maxNewTokens": "many"}, "maxNewTokens"),
        ({"maxNewTokens": True}, "maxNewTokens"),
        ({"maxNewTokens": 0}, "maxNewTokens"),
        ({"inlineEnabled": "yes"}, "inlineEnabled"),
        ({"device": "gpu"}, "device"),
        ({"temperature": 3}, "temperature"),
        ({"threads": 0}, "threads"),
        ({"contextBudget": 10}, "contextBudget"),
        ({"debounceMs": -1}, "debounceMs"),
        ({"logLevel": "loud"}, "logLevel"),
        ({"logLevel": 3}, "logLevel"),
    ],
)
def test_a_bad_value_falls_back_to_its_default_with_a_message(options, key):
    settings, problems = parse_settings(options)
    assert settings == Settings() and len(problems) == 1 and problems[0].startswith(f"{key}=")


def test_all_problems_make_one_message():
    _, problems = parse_settings({"maxNewTokens": "many", "inlineEnabled": "yes", "logLevel": "loud"})
    message = problems_message(problems)
    assert message.startswith("Magicoder: ignored invalid settings: ") and message.count(";") == 2
    assert problems_message([]) is None
    assert parse_settings(["not", "an", "object"])[1] == ["the settings must be an object (using the defaults)"]


def test_nested_and_wrapped_shapes():
    nested = {
        "magicoder": {
            "inline": {"enabled": False, "debounceMs": 5, "maxNewTokens": 9, "contextTokens": 99, "snippets": True},
            "maxNewTokens": 7,
            "pythonPath": "/usr/bin/python3",
        }
    }
    assert flatten_options(nested) == {
        "maxNewTokens": 7,
        "pythonPath": "/usr/bin/python3",
        "inlineEnabled": False,
        "debounceMs": 5,
        "inlineMaxNewTokens": 9,
        "inlineContextTokens": 99,
        "inlineSnippets": True,
    }
    settings, problems = parse_settings(nested)
    assert (settings.inline_enabled, settings.inline_max_new_tokens, settings.max_new_tokens) == (
        False,
        9,
        7,
    ) and problems == []


def test_updates_change_only_what_they_name():
    current = parse_settings({"maxNewTokens": 64, "model": "/a"})[0]
    updated, _ = update_settings(current, {"inlineEnabled": False})
    assert (updated.max_new_tokens, updated.model, updated.inline_enabled) == (64, "/a", False)
    assert not needs_reload(current, updated)
    assert needs_reload(current, update_settings(current, {"model": "/b"})[0])
    assert needs_reload(current, update_settings(current, {"device": "cuda"})[0])


def test_model_folder_precedence(monkeypatch):
    monkeypatch.setenv(MODEL_ENV, "/env/model")
    assert parse_settings(None)[0].model == "/env/model"
    assert parse_settings({"model": ""})[0].model == "/env/model"  # an empty setting means unset
    assert parse_settings({"model": "/option/model"})[0].model == "/option/model"
    assert parse_settings({"model": "/option/model"}, "/cli/model")[0].model == "/cli/model"

"""Typed settings from initializationOptions: defaults, camelCase keys, bad values, model precedence."""

from __future__ import annotations

from lsp_server.settings import MODEL_ENV, Settings, parse_settings


def test_defaults_without_options(monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert parse_settings(None) == (Settings(), [])


def test_camel_case_options_are_typed():
    settings, problems = parse_settings({"maxNewTokens": 64, "inlineEnabled": False, "threads": 3, "extra": 1})
    assert (settings.max_new_tokens, settings.inline_enabled, settings.threads) == (64, False, 3)
    assert problems == []


def test_bad_values_fall_back_to_defaults_with_a_message_each():
    settings, problems = parse_settings({"maxNewTokens": "many", "inlineEnabled": "yes", "logLevel": 3})
    assert settings.max_new_tokens == Settings.max_new_tokens and settings.inline_enabled is True
    assert len(problems) == 3 and "maxNewTokens" in problems[0]
    assert parse_settings({"maxNewTokens": True})[0].max_new_tokens == Settings.max_new_tokens
    assert parse_settings(["not", "an", "object"])[1] == ["initializationOptions must be an object; using default settings"]


def test_model_folder_precedence(monkeypatch):
    monkeypatch.setenv(MODEL_ENV, "/env/model")
    assert parse_settings(None)[0].model == "/env/model"
    assert parse_settings({"model": "/option/model"})[0].model == "/option/model"
    assert parse_settings({"model": "/option/model"}, "/cli/model")[0].model == "/cli/model"

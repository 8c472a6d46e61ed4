"""One settings schema: every setting of the VS Code extension (editor-client/package.json) against the server's
settings rules (lsp_server/settings.py) and the settings tables of README.md and editor-client/README.md.

package.json's `contributes.configuration` is the extension's source (settings.ts reads its defaults and limits
from it); the server's rules are what applies. Each setting is compared by name (after the server's mapping of
VS Code's nested keys), default, type, minimum, maximum and choices.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields

import pytest

from lsp_server import cli, settings
from lsp_server.settings import SECTION, Settings, flatten_options, parse_settings
from tests.helpers.paths import ROOT

CLIENT = ROOT / "editor-client"
PROPERTIES: dict[str, dict] = json.loads((CLIENT / "package.json").read_text())["contributes"]["configuration"][
    "properties"
]
EXAMPLE = json.loads((CLIENT / "test" / "settings.example.json").read_text())
KEYS = [name.removeprefix(f"{SECTION}.") for name in PROPERTIES]

# Settings of the extension alone: it never sends them to the server.
CLIENT_ONLY = {
    "pythonPath": "the interpreter the extension starts the server with",
    "serverPackage": "what Magicoder: Set Up Server installs",
}
SERVER_KEYS = [key for key in KEYS if key not in CLIENT_ONLY]
# package.json defaults that stand for "unset": the server's default is None, and it decides itself.
UNSET = {"model": "", "threads": None, "logLevel": "info"}
# The server's choices, by setting.
CHOICES = {"device": settings.DEVICES, "logLevel": settings.LOG_LEVELS, "backend": settings.BACKENDS}
# JSON schema types as Python types.
JSON_TYPES = {"null": {type(None)}, "boolean": {bool}, "integer": {int}, "number": {int, float}, "string": {str}}
# What README.md's server table says for the settings whose server default is None.
README_UNSET = {
    "model": "`--model`, else `$MAGICODER_MODEL`",
    "threads": "physical cores",
    "logLevel": "`--log-level` (INFO)",
}


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch):
    monkeypatch.delenv(settings.MODEL_ENV, raising=False)


def vscode_settings(values: dict[str, object]) -> dict:
    """Settings (without the ``magicoder.`` prefix) in VS Code's shape: "inline.enabled" under "inline"."""
    out: dict = {}
    for key, value in values.items():
        *groups, last = key.split(".")
        target = out
        for group in groups:
            target = target.setdefault(group, {})
        target[last] = value
    return {SECTION: out}


def server_key(key: str) -> str:
    """The server's flat key for a package.json setting, by the server's own mapping of VS Code's settings."""
    flat = flatten_options(vscode_settings({key: "probe"}))
    assert isinstance(flat, dict) and len(flat) == 1, flat
    return str(next(iter(flat)))


def field_of(flat: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), flat)


def accepts(key: str, value: object) -> bool:
    """Whether the server takes ``value`` for the package.json setting ``key`` as it is."""
    got, problems = parse_settings(vscode_settings({key: value}))
    return not problems and getattr(got, field_of(server_key(key))) == value


def table(path: str, header: str) -> dict[str, str]:
    """The first column -> the second, of the markdown table that starts with ``header``."""
    text = (ROOT / path).read_text()
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]*?) \|", text[text.index(header) :].split("\n\n", 1)[0], re.MULTILINE)
    assert rows, f"no rows under {header!r} in {path}"
    return dict(rows)


def default_cell(default: object) -> str:
    return f"`{default}`" if isinstance(default, str) and default else json.dumps(default)


def test_every_server_setting_is_a_vscode_setting_and_back():
    assert {field_of(server_key(key)) for key in SERVER_KEYS} == {f.name for f in fields(Settings)}
    assert set(CLIENT_ONLY) <= set(KEYS)


@pytest.mark.parametrize("key", SERVER_KEYS)
def test_defaults_agree(key):
    default = PROPERTIES[f"{SECTION}.{key}"]["default"]
    server_default = getattr(Settings(), field_of(server_key(key)))
    if key in UNSET:
        assert (default, server_default) == (UNSET[key], None)
    else:
        assert default == server_default and accepts(key, default)


def test_the_log_level_default_is_the_servers_own():
    assert cli._parser().get_default("log_level") == UNSET["logLevel"].upper()
    assert accepts("logLevel", UNSET["logLevel"])


@pytest.mark.parametrize("key", SERVER_KEYS)
def test_types_limits_and_choices_agree(key):
    schema = PROPERTIES[f"{SECTION}.{key}"]
    types = set(schema["type"]) if isinstance(schema["type"], list) else {schema["type"]}
    assert any(type(schema["default"]) in JSON_TYPES[kind] for kind in types), f"{key}: package.json's default"
    assert accepts(key, None) == ("null" in types or key in UNSET)  # the server takes null for "unset" too
    if "boolean" in types:
        assert accepts(key, True) and accepts(key, False) and not accepts(key, "yes")
    if "integer" in types:
        assert not accepts(key, (schema["default"] or schema["minimum"]) + 0.5) and not accepts(key, True)
    if "number" in types:
        assert accepts(key, schema["default"] + 0.25)
    if types & {"integer", "number"}:
        _check_range(key, schema, step=1 if "integer" in types else 0.001)
    if "enum" in schema:
        assert tuple(schema["enum"]) == CHOICES[key]
        assert all(accepts(key, choice) for choice in schema["enum"]) and not accepts(key, "none of them")
    else:
        assert key not in CHOICES


def _check_range(key: str, schema: dict, step: float) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None:
        assert accepts(key, -(10**9)), f"{key}: the server has a minimum that package.json lacks"
    else:
        assert accepts(key, low) and not accepts(key, low - step), f"{key}: the server's minimum is not {low}"
    if high is None:
        assert accepts(key, 10**9), f"{key}: the server has a maximum that package.json lacks"
    else:
        assert accepts(key, high) and not accepts(key, high + step), f"{key}: the server's maximum is not {high}"


def test_the_vscode_example_reads_the_same_in_both_shapes():
    """settings.example.json: the initializationOptions the extension sends for its settings (settings.test.ts
    checks that) mean to the server what VS Code's own nested settings mean, and every setting is off its default."""
    assert list(EXAMPLE["settings"]) == list(PROPERTIES)
    values = {name.removeprefix(f"{SECTION}."): value for name, value in EXAMPLE["settings"].items()}
    from_vscode, problems = parse_settings(vscode_settings({k: v for k, v in values.items() if k not in CLIENT_ONLY}))
    from_client, client_problems = parse_settings(EXAMPLE["initializationOptions"])
    assert problems == client_problems == [] and from_vscode == from_client
    assert [f.name for f in fields(Settings) if getattr(from_client, f.name) == getattr(Settings(), f.name)] == []


def test_the_readme_tables_agree():
    server_table = table("README.md", "| key | default |")
    assert sorted(server_table) == sorted(server_key(key) for key in SERVER_KEYS)
    for key in SERVER_KEYS:
        cell = README_UNSET.get(key) or default_cell(PROPERTIES[f"{SECTION}.{key}"]["default"])
        assert server_table[server_key(key)] == cell, key
    client_table = table("editor-client/README.md", "| setting | default |")
    assert list(client_table) == list(PROPERTIES)
    for name, schema in PROPERTIES.items():
        assert client_table[name] == default_cell(schema["default"]), name

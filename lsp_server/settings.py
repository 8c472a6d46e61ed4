"""Typed server settings from LSP initializationOptions and workspace/didChangeConfiguration.

Keys are camelCase (``maxNewTokens``); VS Code's nested form (``{"inline": {"enabled": false}}``)
and a ``{"magicoder": {...}}`` wrapper are accepted too. A value of the wrong type or out of range
is replaced by the default and named in the returned problems.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .engine.endpoint import Endpoint, EndpointError
from .magicoder import DEVICES

MODEL_ENV = "MAGICODER_MODEL"
BACKENDS = ("local", "openai")  # the ONNX engine on a model folder | a shared OpenAI-compatible server
SECTION = "magicoder"
LOG_LEVELS = ("debug", "info", "warning", "error")
# Settings the engine is built with: changing one reloads the model.
RELOAD_FIELDS = (
    "model",
    "device",
    "threads",
    "backend",
    "endpoint",
    "remote_model",
    "tokenizer",
    "ca_bundle",
    "allow_insecure",
)
# Settings that decide where code and the API key go: taken from the start (initializationOptions, command
# line, environment) and from what the client pushes (didChangeConfiguration), never from a
# workspace/configuration answer, which a client may fill from a repository's own settings.
TRUSTED_ONLY = ("backend", "endpoint", "ca_bundle", "allow_insecure")


@dataclass(frozen=True)
class Settings:
    model: str | None = None  # model folder (manifest.json + model.onnx + tokenizer.json)
    device: str = "auto"  # execution provider preference: auto | cpu | cuda
    threads: int | None = None  # intra-op threads; default: physical cores
    max_new_tokens: int = 256  # Ask Magicoder answers
    temperature: float = 0.0  # 0 = greedy
    context_budget: int = 4096  # Ask Magicoder prompt + answer (tokens)
    inline_enabled: bool = True
    inline_max_new_tokens: int = 48
    inline_context_tokens: int = 1024  # FIM prefix + suffix (+ snippets) budget
    inline_snippets: bool = False  # add snippets of other open documents of the same language
    debounce_ms: int = 150  # inline requests arriving faster than this wait for the typing to pause
    preview_edits: bool = False  # mark edits as needing confirmation (VS Code shows a refactor preview)
    log_level: str | None = None  # debug | info | warning | error; None: as --log-level says
    backend: str = "local"  # local: the ONNX engine on `model` | openai: the server at `endpoint`
    endpoint: str = ""  # base URL of an OpenAI-compatible API, e.g. http://gpu-box:8000/v1
    remote_model: str = ""  # the server's model name; "": the first one it lists
    tokenizer: str = ""  # token budgets with backend openai: tokenizer.json or its folder; "": the model folder's
    ca_bundle: str = ""  # PEM file of extra CA certificates for https endpoints (the system's are always used)
    allow_insecure: bool = False  # plain http:// to a host other than this machine


# Nested VS Code settings (magicoder.inline.enabled ...) and their flat initializationOptions keys.
NESTED = {
    "inline": {
        "enabled": "inlineEnabled",
        "maxNewTokens": "inlineMaxNewTokens",
        "contextTokens": "inlineContextTokens",
        "debounceMs": "debounceMs",
        "snippets": "inlineSnippets",
    }
}


def option_name(name: str) -> str:
    """A field's initializationOptions key (camelCase: inline_max_new_tokens -> inlineMaxNewTokens)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _at_least(low: int) -> Callable[[int | None], bool]:
    return lambda v: v is None or v >= low


# A rule sees its field's value already structured to the field's type (see _value); the callables
# take Any because one dict holds the rules of fields of different types.
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "device": (lambda v: v in DEVICES, f"one of {', '.join(DEVICES)}"),
    "threads": (_at_least(1), "a number of threads >= 1, or null"),
    "max_new_tokens": (_at_least(1), "an integer >= 1"),
    "temperature": (lambda v: 0 <= v <= 2, "a number from 0 to 2"),
    "context_budget": (_at_least(256), "an integer >= 256"),
    "inline_max_new_tokens": (_at_least(1), "an integer >= 1"),
    "inline_context_tokens": (_at_least(64), "an integer >= 64"),
    "debounce_ms": (lambda v: 0 <= v <= 5000, "milliseconds from 0 to 5000"),
    "log_level": (lambda v: v is None or str(v).lower() in LOG_LEVELS, f"one of {', '.join(LOG_LEVELS)}"),
    "backend": (lambda v: v in BACKENDS, f"one of {', '.join(BACKENDS)}"),
    "endpoint": (lambda v: not v or endpoint_problem(v) is None, "an http:// or https:// URL, or empty"),
    "remote_model": (lambda v: "\n" not in v, "a model name"),
}


def endpoint_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint, whatever the network it is on (None: it can)."""
    try:
        Endpoint.parse(url, allow_insecure=True)
    except EndpointError as exc:
        return str(exc)
    return None


def _strict(kind: type):
    def structure(value: object, _type: type) -> object:
        # bool is an int in Python: never let True pass as a token count, nor "yes" as a bool.
        if kind is float and type(value) in (int, float):
            assert isinstance(value, (int, float))  # the exact-type test above, which mypy cannot narrow on
            return float(value)
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return structure


_converter = cattrs.Converter(forbid_extra_keys=False)
for _kind in (bool, int, float, str):
    _converter.register_structure_hook(_kind, _strict(_kind))
_renames = {f.name: override(rename=option_name(f.name)) for f in fields(Settings)}
_converter.register_structure_hook(
    Settings,
    # mypy matches a **dict against every keyword parameter, the _cattrs_* flags included; these keys are
    # Settings' field names only, which cattrs takes as **kwargs: AttributeOverride.
    make_dict_structure_fn(Settings, _converter, **_renames),  # type: ignore[arg-type]
)


def flatten_options(options: object) -> object:
    """initializationOptions or configuration in any accepted shape, as flat camelCase keys."""
    if not isinstance(options, dict):
        return options
    section = options.get(SECTION)
    table = section if isinstance(section, dict) else options
    flat = {k: v for k, v in table.items() if k not in NESTED or not isinstance(v, dict)}
    for group, keys in NESTED.items():
        nested = table.get(group)
        if isinstance(nested, dict):
            flat.update({keys[k]: v for k, v in nested.items() if k in keys})
    return flat


def _value(name: str, key: str, raw: object) -> object:
    """The typed value of one setting; raises ValueError/TypeError when invalid."""
    try:
        value = getattr(_converter.structure({key: raw}, Settings), name)
    except cattrs.BaseValidationError as exc:
        kind = next(f.type for f in fields(Settings) if f.name == name)
        raise TypeError(f"expected {kind}") from exc
    rule = RULES.get(name)
    if rule is not None and not rule[0](value):
        raise ValueError(f"expected {rule[1]}")
    return value.lower() if name == "log_level" and value else value


def update_settings(
    current: Settings, options: object, model_override: str | None = None, trusted: bool = True
) -> tuple[Settings, list[str]]:
    """``current`` with the settings that ``options`` names; invalid ones fall back to their defaults.

    The model folder comes from, in order: the command line, the ``model`` option, $MAGICODER_MODEL.
    Untrusted options (a workspace/configuration answer) cannot change the TRUSTED_ONLY settings.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}  # field name -> a value of that field's type (see _value)
    options = flatten_options(options)
    if isinstance(options, dict):
        for f in fields(Settings):
            key = option_name(f.name)
            if key not in options:
                continue
            if not trusted and f.name in TRUSTED_ONLY:
                if options[key] != getattr(current, f.name):
                    problems.append(f"{key} from the workspace configuration (set it in the user settings)")
                continue
            try:
                values[f.name] = _value(f.name, key, options[key])
            except (TypeError, ValueError) as exc:
                values[f.name] = f.default
                problems.append(f"{key}={options[key]!r} ({exc}, using {f.default!r})")
    elif options is not None:
        problems.append("the settings must be an object (using the defaults)")
    settings = replace(current, **values)
    model = model_override or settings.model or os.environ.get(MODEL_ENV) or None
    return replace(settings, model=model), problems


def parse_settings(options: object, model_override: str | None = None) -> tuple[Settings, list[str]]:
    """Settings from initializationOptions: the defaults, overridden by what the options name."""
    return update_settings(Settings(), options, model_override)


def problems_message(problems: list[str]) -> str | None:
    """One user-facing line for all invalid settings, or None."""
    return f"Magicoder: ignored invalid settings: {'; '.join(problems)}" if problems else None


def needs_reload(old: Settings, new: Settings) -> bool:
    return any(getattr(old, name) != getattr(new, name) for name in RELOAD_FIELDS)

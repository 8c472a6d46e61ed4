"""Typed server settings from LSP initializationOptions and workspace/didChangeConfiguration.

Keys are camelCase (``maxNewTokens``); VS Code's nested form (``{"inline": {"enabled": false}}``)
and a ``{"magicoder": {...}}`` wrapper are accepted too. A value of the wrong type or out of range
is replaced by the default and named in the returned problems.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .magicoder import DEVICES

MODEL_ENV = "MAGICODER_MODEL"
SECTION = "magicoder"
LOG_LEVELS = ("debug", "info", "warning", "error")
# Settings the engine is built with: changing one reloads the model.
RELOAD_FIELDS = ("model", "device", "threads")


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


# Nested VS Code settings (magicoder.inline.enabled ...) and their flat initializationOptions keys.
NESTED = {"inline": {"enabled": "inlineEnabled", "maxNewTokens": "inlineMaxNewTokens",
                     "contextTokens": "inlineContextTokens", "debounceMs": "debounceMs", "snippets": "inlineSnippets"}}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _at_least(low: int) -> Callable[[object], bool]:
    return lambda v: v is None or v >= low  # type: ignore[operator]


RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "device": (lambda v: v in DEVICES, f"one of {', '.join(DEVICES)}"),
    "threads": (_at_least(1), "a number of threads >= 1, or null"),
    "max_new_tokens": (_at_least(1), "an integer >= 1"),
    "temperature": (lambda v: 0 <= v <= 2, "a number from 0 to 2"),  # type: ignore[operator]
    "context_budget": (_at_least(256), "an integer >= 256"),
    "inline_max_new_tokens": (_at_least(1), "an integer >= 1"),
    "inline_context_tokens": (_at_least(64), "an integer >= 64"),
    "debounce_ms": (lambda v: 0 <= v <= 5000, "milliseconds from 0 to 5000"),  # type: ignore[operator]
    "log_level": (lambda v: v is None or str(v).lower() in LOG_LEVELS, f"one of {', '.join(LOG_LEVELS)}"),
}


def _strict(kind: type):
    def structure(value: object, _type: type) -> object:
        # bool is an int in Python: never let True pass as a token count, nor "yes" as a bool.
        if kind is float and type(value) in (int, float):
            return float(value)  # type: ignore[arg-type]
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return structure


_converter = cattrs.Converter(forbid_extra_keys=False)
for _kind in (bool, int, float, str):
    _converter.register_structure_hook(_kind, _strict(_kind))
_converter.register_structure_hook(
    Settings,
    make_dict_structure_fn(Settings, _converter, **{f.name: override(rename=_camel(f.name)) for f in fields(Settings)}),
)


def flatten_options(options: object) -> object:
    """initializationOptions or configuration in any accepted shape, as flat camelCase keys."""
    if not isinstance(options, dict):
        return options
    if isinstance(options.get(SECTION), dict):
        options = options[SECTION]
    flat = {k: v for k, v in options.items() if k not in NESTED or not isinstance(v, dict)}
    for group, keys in NESTED.items():
        nested = options.get(group)
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
    return value.lower() if name == "log_level" and value else value  # type: ignore[union-attr]


def update_settings(current: Settings, options: object, model_override: str | None = None) -> tuple[Settings, list[str]]:
    """``current`` with the settings that ``options`` names; invalid ones fall back to their defaults.

    The model folder comes from, in order: the command line, the ``model`` option, $MAGICODER_MODEL.
    """
    problems: list[str] = []
    values: dict[str, object] = {}
    options = flatten_options(options)
    if isinstance(options, dict):
        for f in fields(Settings):
            key = _camel(f.name)
            if key not in options:
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

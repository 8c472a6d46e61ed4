"""Typed server settings, parsed from LSP initializationOptions (camelCase keys)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

import cattrs
from cattrs.gen import make_dict_structure_fn, override

MODEL_ENV = "MAGICODER_MODEL"


@dataclass(frozen=True)
class Settings:
    model: str | None = None  # model folder (manifest.json + model.onnx + tokenizer.json)
    max_new_tokens: int = 256  # Ask Magicoder answers
    inline_enabled: bool = True
    inline_max_new_tokens: int = 48
    inline_context_tokens: int = 1024  # FIM prefix + suffix budget
    context_budget: int = 4096  # instruction prompt budget (tokens)
    threads: int | None = None  # intra-op threads; default: physical cores
    log_level: str = "info"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _strict(kind: type):
    def structure(value: object, _type: type) -> object:
        # bool is an int in Python: never let True pass as a token count, nor "yes" as a bool.
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return structure


_converter = cattrs.Converter(forbid_extra_keys=False)
for _kind in (bool, int, str):
    _converter.register_structure_hook(_kind, _strict(_kind))
_converter.register_structure_hook(
    Settings,
    make_dict_structure_fn(
        Settings, _converter, **{f.name: override(rename=_camel(f.name)) for f in fields(Settings)}
    ),
)


def parse_settings(options: object, model_override: str | None = None) -> tuple[Settings, list[str]]:
    """Settings from initializationOptions; bad values fall back to defaults with a message each.

    The model folder comes from, in order: the command line, the ``model`` option, $MAGICODER_MODEL.
    """
    problems: list[str] = []
    settings = Settings()
    if isinstance(options, dict):
        values = {}
        for f in fields(Settings):
            key = _camel(f.name)
            if key not in options:
                continue
            try:
                _converter.structure({key: options[key]}, Settings)
                values[key] = options[key]
            except (cattrs.BaseValidationError, ValueError, TypeError):
                problems.append(f"setting {key}={options[key]!r} is invalid; using {getattr(settings, f.name)!r}")
        settings = _converter.structure(values, Settings)
    elif options is not None:
        problems.append("initializationOptions must be an object; using default settings")
    model = model_override or settings.model or os.environ.get(MODEL_ENV) or None
    if model != settings.model:
        settings = Settings(**{**settings.__dict__, "model": model})
    return settings, problems

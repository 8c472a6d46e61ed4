"""manifest.json: the one contract between the exporter and the engine.

The exporter writes it next to the ONNX graph and the tokenizer; the engine reads nothing else
to learn how to drive the graph.  The schema is versioned: a reader accepts any manifest whose
``schema_version`` is at most its own, and refuses newer ones with a clear message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cattrs

from ..magicoder import FIM_BEGIN, FIM_END, FIM_HOLE, INSTRUCTION_PLACEHOLDER, MAGICODER_PROMPT_TEMPLATE

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"

# KV layouts the engine can drive.
KV_SHARED_BUFFER = "shared-buffer"  # fused GroupQueryAttention: past and present alias one preallocated buffer
KV_CONCAT = "concat"  # Hugging Face style: present = concat(past, new), fed back as the next past
KV_LAYOUTS = (KV_SHARED_BUFFER, KV_CONCAT)


class ManifestError(ValueError):
    """The model folder's manifest is missing, unreadable, too new or inconsistent."""


@dataclass(frozen=True)
class IoNames:
    input_ids: str = "input_ids"
    attention_mask: str = "attention_mask"
    position_ids: str | None = None  # the fused graph derives positions from the mask
    logits: str = "logits"


@dataclass(frozen=True)
class KvCache:
    layout: str = KV_SHARED_BUFFER
    past_key: str = "past_key_values.%d.key"
    past_value: str = "past_key_values.%d.value"
    present_key: str = "present.%d.key"
    present_value: str = "present.%d.value"
    # Axis order of every cache tensor.
    axes: tuple[str, ...] = ("batch", "kv_heads", "sequence", "head_dim")
    dtype: str = "float32"


@dataclass(frozen=True)
class Dims:
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    hidden_size: int
    vocab_size: int
    context_length: int


@dataclass(frozen=True)
class SpecialTokens:
    bos: int
    eos: int
    eot: int | None = None
    fim_begin: int | None = None
    fim_hole: int | None = None
    fim_end: int | None = None
    pad: int | None = None

    def stop_ids(self) -> tuple[int, ...]:
        """Ids that end a generation (DeepSeek's EOT and FIM tokens are not 'special')."""
        ids = (self.eos, self.eot, self.fim_begin, self.fim_hole, self.fim_end)
        return tuple(i for i in ids if i is not None)


@dataclass(frozen=True)
class PromptFormat:
    template: str = MAGICODER_PROMPT_TEMPLATE
    add_bos: bool = True
    fim_begin: str = FIM_BEGIN
    fim_hole: str = FIM_HOLE
    fim_end: str = FIM_END


@dataclass(frozen=True)
class Manifest:
    name: str
    dims: Dims
    special_tokens: SpecialTokens
    schema_version: int = SCHEMA_VERSION
    graph: str = "model.onnx"
    tokenizer: str = "tokenizer.json"
    parity_report: str = "parity.json"
    precision: str = "fp32"
    target: str = "cpu"
    io: IoNames = field(default_factory=IoNames)
    kv: KvCache = field(default_factory=KvCache)
    prompt: PromptFormat = field(default_factory=PromptFormat)
    source: str = ""
    versions: dict[str, str] = field(default_factory=dict)


_converter = cattrs.Converter(forbid_extra_keys=False)


def to_dict(manifest: Manifest) -> dict:
    return _converter.unstructure(manifest)


def from_dict(data: dict) -> Manifest:
    if not isinstance(data, dict):
        raise ManifestError("manifest.json must hold a JSON object")
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise ManifestError("manifest.json has no integer schema_version")
    if version > SCHEMA_VERSION:
        raise ManifestError(
            f"manifest.json has schema_version {version}, this magicoder-lsp reads up to {SCHEMA_VERSION}: "
            "upgrade magicoder-lsp or re-export the model with this version"
        )
    try:
        manifest = _converter.structure(data, Manifest)
    except cattrs.BaseValidationError as exc:
        details = "; ".join(cattrs.transform_error(exc))
        raise ManifestError(f"manifest.json is invalid: {details}") from exc
    if manifest.kv.layout not in KV_LAYOUTS:
        raise ManifestError(f"manifest.json: unknown kv.layout {manifest.kv.layout!r} (known: {KV_LAYOUTS})")
    if INSTRUCTION_PLACEHOLDER not in manifest.prompt.template:
        raise ManifestError(f"manifest.json: prompt.template lacks the {INSTRUCTION_PLACEHOLDER} placeholder")
    return manifest


def write(manifest: Manifest, folder: Path) -> Path:
    path = Path(folder) / MANIFEST_NAME
    path.write_text(json.dumps(to_dict(manifest), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read(folder: Path) -> Manifest:
    """Load and check a model folder's manifest, and that the files it names exist."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{folder} has no {MANIFEST_NAME}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from exc
    manifest = from_dict(data)
    for name in (manifest.graph, manifest.tokenizer):
        if not (folder / name).is_file():
            raise ManifestError(f"{folder} lacks {name}, named by its manifest")
    return manifest

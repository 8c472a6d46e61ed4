"""The parity gate's transformers reference, one decoder layer at a time.

``from_pretrained(dtype=float32)`` of Magicoder-S-DS-6.7B needs 27 GB.  ``streamed_logits`` runs the
same computation with transformers' own classes (the model's embedding, causal mask, rotary
embedding, ``LlamaDecoderLayer``, final norm and LM head, in the order ``LlamaForCausalLM.forward``
calls them) but holds one layer's fp32 weights at a time: every sequence passes layer i before
layer i+1 is read from the checkpoint.  Its logits are the full model's: bit-identical, or within
1e-6 where BLAS accumulates a one-row product in another order (tests/test_export_reference.py).
Tied embeddings are read once for both owners.  Models it does not handle fall back to the full model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from . import progress
from .module_loader import ModuleLoader, trim_heap

log = logging.getLogger("magicoder-export")

STREAMED_ARCHITECTURES = ("LlamaForCausalLM",)


def full_model_logits(hf_dir: Path, sequences: list[list[int]], trust_remote_code: bool = False) -> list[np.ndarray]:
    """The whole model in fp32 (any architecture transformers loads): [len(seq), vocab] per sequence."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype="float32", trust_remote_code=trust_remote_code).eval()
    out = []
    with torch.no_grad():
        for ids in sequences:
            logits = model(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long)).logits
            out.append(logits[0].float().numpy())
    return out


def streams(config: dict, trust_remote_code: bool = False) -> bool:
    """Whether ``streamed_logits`` handles this config.json (else: the full model)."""
    return (
        not trust_remote_code
        and not config.get("auto_map")
        and (config.get("architectures") or [None])[0] in STREAMED_ARCHITECTURES
    )


class _Sequence:
    """One sequence's state between layers: hidden states and what every layer needs with them."""

    def __init__(self, model, ids: list[int]):
        from transformers.masking_utils import create_causal_mask

        inner = model.model
        self.hidden = inner.embed_tokens(torch.tensor([ids]))  # [1, seq, hidden]
        self.position_ids = torch.arange(len(ids)).unsqueeze(0)  # [1, seq]
        attention_mask = torch.ones(1, len(ids), dtype=torch.long)
        self.mask = create_causal_mask(
            config=inner.config,
            inputs_embeds=self.hidden,
            attention_mask=attention_mask,
            cache=None,
            position_ids=self.position_ids,
        )
        self.position_embeddings = inner.rotary_emb(self.hidden, position_ids=self.position_ids)  # (cos, sin)


def streamed_logits(hf_dir: Path, sequences: list[list[int]]) -> list[np.ndarray]:
    """``LlamaForCausalLM.forward`` in fp32, layer by layer over all ``sequences``: [len(seq), vocab] each."""
    from transformers.models.llama.modeling_llama import LlamaForCausalLM, LlamaRotaryEmbedding

    loader = ModuleLoader.open(Path(hf_dir), dtype=torch.float32)
    model = loader.skeleton
    if not isinstance(model, LlamaForCausalLM):
        raise TypeError(f"the layer-by-layer reference runs Llama models, not {type(model).__name__}")
    inner = model.model
    # The skeleton's buffers (rotary inv_freq) live on the meta device: build the rotary embedding for real.
    inner.rotary_emb = LlamaRotaryEmbedding(config=inner.config)
    with torch.no_grad():
        with loader.loaded(inner.embed_tokens):
            states = [_Sequence(model, ids) for ids in sequences]
        trim_heap()
        layers = inner.config.num_hidden_layers
        for index, layer in enumerate(inner.layers[:layers]):
            with loader.loaded(layer):
                for s in states:
                    s.hidden = layer(
                        s.hidden,
                        attention_mask=s.mask,
                        position_embeddings=s.position_embeddings,
                        position_ids=s.position_ids,
                        cache=None,
                        use_cache=False,
                    )
            trim_heap()
            log.debug("[validate] reference layer %d of %d", index + 1, layers)
            # The second half of the gate's steps (validate.run_onnx counts the first half).
            progress.step(
                "validate", layers + index + 1, 2 * layers + 1, "layers", f"transformers: layer {index + 1} of {layers}"
            )
        with loader.loaded(inner.norm), loader.loaded(model.lm_head):
            out = [model.lm_head(inner.norm(s.hidden))[0].float().numpy() for s in states]
    loader.close()
    return out


def reference_logits(
    hf_dir: Path, sequences: list[list[int]], trust_remote_code: bool = False, config: dict | None = None
) -> list[np.ndarray]:
    """transformers' fp32 logits at every position of each sequence, streamed where the architecture allows."""
    import json

    config = config or json.loads((Path(hf_dir) / "config.json").read_text(encoding="utf-8"))
    if streams(config, trust_remote_code):
        return streamed_logits(hf_dir, sequences)
    log.info("[validate] the reference loads the whole model in fp32 (architecture %s)", config.get("architectures"))
    return full_model_logits(hf_dir, sequences, trust_remote_code)

"""Facts about Magicoder-S-DS-6.7B's checkpoint on the Hugging Face Hub, for figures given before anything is
downloaded, and where huggingface_hub is not installed yet (an editor's preflight before the exporter's tools
are): its config.json's dimensions and the size of what ``build`` downloads."""

from __future__ import annotations

from lsp_server.magicoder import MAX_POSITIONS, MODEL_ID

# ise-uiuc/Magicoder-S-DS-6.7B's config.json (DeepSeek-Coder-6.7B's shape), the fields the estimates read.
MAGICODER_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32256,
    "max_position_embeddings": MAX_POSITIONS,
    "rope_scaling": {"type": "linear", "factor": 4.0},
    "rope_theta": 100000,
    "tie_word_embeddings": False,
}
# Its weights in bf16 (6.74 B parameters) and the tokenizer and config files.
MAGICODER_DOWNLOAD_BYTES = 13_480_000_000

KNOWN = {MODEL_ID: (MAGICODER_CONFIG, MAGICODER_DOWNLOAD_BYTES)}

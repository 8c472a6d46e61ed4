"""Facts about Magicoder-S-DS-6.7B: its instruction template, the DeepSeek-Coder token strings it
was trained with, and the devices the server can run it on.

The one home of these facts: prompt building, settings, the engine (manifest defaults, providers)
and the exporter (tokenizer checks, the tiny model) all read them from here. No imports.
"""

# Magicoder's instruction template, exactly as in its training and evaluation (BOS is the tokenizer's).
INSTRUCTION_PLACEHOLDER = "{instruction}"
INSTRUCTION_HEADER = "@@ Instruction"  # starts the instruction; a model that writes it again is done answering
MAGICODER_PROMPT_TEMPLATE = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and "
    "reliable responses to user instructions.\n\n@@ Instruction\n{instruction}\n\n@@ Response\n"
)

# DeepSeek-Coder's special and added token strings (their ids are read from the tokenizer, never assumed).
BOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
EOT = "<|EOT|>"  # ends an instruction answer; an added token, not a "special" one
FIM_BEGIN = "<\uff5cfim\u2581begin\uff5c>"
FIM_HOLE = "<\uff5cfim\u2581hole\uff5c>"
FIM_END = "<\uff5cfim\u2581end\uff5c>"

# Where the model can run: "auto" takes CUDA when the model was exported for it and it is usable.
DEVICES = ("auto", "cpu", "cuda")

# The model on the Hugging Face Hub, and its context (max_position_embeddings).
MODEL_ID = "ise-uiuc/Magicoder-S-DS-6.7B"
MAX_POSITIONS = 16384

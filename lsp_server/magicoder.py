"""Facts about Magicoder-S-DS-6.7B shared by the engine (manifest defaults) and prompt building.

No imports: both the pure prompt functions and the engine's manifest read from here.
"""

# Magicoder's instruction template, exactly as in its training and evaluation (BOS is the tokenizer's).
MAGICODER_PROMPT_TEMPLATE = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and "
    "reliable responses to user instructions.\n\n@@ Instruction\n{instruction}\n\n@@ Response\n"
)

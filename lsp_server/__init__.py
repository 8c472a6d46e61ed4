"""magicoder-lsp: Magicoder-S-DS-6.7B in the editor, over LSP, on onnxruntime."""

__version__ = "0.1.0"

"""The editors the tests play: their LSP client capability sets (pytest-lsp's recorded ones)."""

from __future__ import annotations

from lsprotocol import types
from pytest_lsp import client_capabilities

VSCODE, NEOVIM = "visual-studio-code", "neovim"
CLIENTS = (VSCODE, NEOVIM)
# The position encoding the server negotiates with each (the first of the client's that it supports).
ENCODINGS = {VSCODE: "utf-16", NEOVIM: "utf-8"}


def capabilities(name: str) -> types.ClientCapabilities:
    """A client's capability set; VS Code gets inline completion (built in since VS Code 1.91).

    Neovim's has no documentChanges, no change annotations, no resource operations and no inline completion.
    """
    caps = client_capabilities(name)
    if name == VSCODE:
        assert caps.text_document is not None
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return caps

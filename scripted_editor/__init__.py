"""A scripted editor: an LSP client that opens documents, applies the server's versioned edits and keeps its
status and log notifications, as an editor would.  The demo, the tests and the benchmarks drive
magicoder-lsp through it (magicoder-eval drives the server through its raw connection)."""

from .session import (
    CLIENT_CAPABILITIES,
    Document,
    EditorSession,
    apply_text_edits,
    fix_code_action_union,
    make_session,
    plain_edits,
)

__all__ = [
    "CLIENT_CAPABILITIES",
    "Document",
    "EditorSession",
    "apply_text_edits",
    "fix_code_action_union",
    "make_session",
    "plain_edits",
]

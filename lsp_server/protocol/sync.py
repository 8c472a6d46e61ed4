"""Document synchronization into the server's own DocumentStore instead of pygls' workspace.

pygls 2.1.1 applies an incremental change by splitting the whole text into lines and writing every line
again (~30 ms a keystroke in a 3 MB file, then as much again for whoever reads its lines); the store
applies it to the chunks it touches. didOpen, didChange and didClose go to the store and to the change log
that answers are placed through (changelog.py), then to the handlers registered for them, as pygls' own
would; pygls' workspace holds no documents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol, lsp_method

from ..changelog import text_changes

if TYPE_CHECKING:
    from .server import MagicoderServer


class DocumentSync(LanguageServerProtocol):
    _server: MagicoderServer

    def _then_features(self, method: str, params: Any) -> Any:
        if (user_handler := self.fm.features.get(method)) is not None:
            yield user_handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Any:
        doc = params.text_document
        self._server.documents.open(doc.uri, doc.language_id, doc.version, doc.text)
        self._server.change_log.opened(doc.uri, doc.version)
        yield from self._then_features(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        doc = params.text_document
        self._server.documents.change(doc.uri, doc.version, params.content_changes, self._server.encoding)
        self._server.change_log.changed(doc.uri, doc.version, text_changes(params.content_changes))
        yield from self._then_features(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Any:
        self._server.documents.close(params.text_document.uri)
        self._server.change_log.closed(params.text_document.uri)
        yield from self._then_features(types.TEXT_DOCUMENT_DID_CLOSE, params)

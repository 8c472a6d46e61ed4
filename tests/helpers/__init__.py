"""What the tests share: paths and markers, the recording host the handler tests drive, the LSP session of the
end-to-end tests, client capabilities, positions and edits, sample documents, checkpoint layouts, planted
faults and the editors under test (editors.py).  Fixtures stay in tests/conftest.py; the raw JSON-RPC
connection is scripted_editor.raw (the benchmarks use it too)."""

"""Property: every generated request, however malformed, is answered, and the server keeps serving.

Requests are the server's own methods with valid params (positions anywhere in a CRLF document
with emoji, inside surrogate pairs too) of which 0 to 2 values are replaced by garbage (wrong
types, huge or negative numbers, unknown documents), dropped, or joined by extra keys; plus
arbitrary methods and JSON. One server process takes all examples; MAGICODER_FUZZ_EXAMPLES
sets how many (each sends 1 to 5 requests, plus a notification now and then).
"""

from __future__ import annotations

import copy
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsp_server.tasks import TASKS
from scripted_editor.raw import RawServer

EXAMPLES = int(os.environ.get("MAGICODER_FUZZ_EXAMPLES", "150"))
ANSWER_TIMEOUT_S = 20.0
# InternalError (-32603) is not here: it would mean an unhandled exception in a handler.
EXPECTED_ERRORS = {-32700, -32600, -32601, -32602, -32002, -32800, -32803}
TEXT = "import os\n\n# add a docstring\ndef f(x):\n    s = '😀🐍'\r\n    return x\n"

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
odd_numbers = st.sampled_from([-1, -(2**31), 2**31 - 1, 2**31, 2**32, 2**53, 2**64, 0.5, True])
odd_uris = st.sampled_from(["file:///nope.py", "untitled:x", "", "file:///work/%ZZ", "not a uri"])
garbage = st.one_of(json_values, odd_numbers, odd_uris)

# Valid requests first: the open document (7 lines, an emoji pair on line 4: columns inside it too).
lines = st.integers(0, 6)
columns = st.integers(0, 14)
positions = st.fixed_dictionaries({"line": lines, "character": columns})
ranges = st.fixed_dictionaries({"start": positions, "end": positions})
diagnostic = st.fixed_dictionaries(
    {"range": ranges, "message": st.text(max_size=30)},
    optional={"source": st.text(max_size=8), "severity": st.integers(1, 4)},
)


def valid_requests(uri: str) -> st.SearchStrategy:
    document = st.just({"uri": uri})
    argument = st.fixed_dictionaries(
        {"uri": st.just(uri), "range": ranges},
        optional={"version": st.integers(0, 3), "task": st.sampled_from(TASKS), "instruction": st.text(max_size=20)},
    )
    return st.one_of(
        st.tuples(
            st.just("textDocument/codeAction"),
            st.fixed_dictionaries(
                {
                    "textDocument": document,
                    "range": ranges,
                    "context": st.fixed_dictionaries(
                        {"diagnostics": st.lists(diagnostic, max_size=2)},
                        optional={"only": st.lists(st.sampled_from(["quickfix", "refactor", "source"]), max_size=2)},
                    ),
                }
            ),
        ),
        st.tuples(
            st.just("textDocument/inlineCompletion"),
            st.fixed_dictionaries(
                {
                    "textDocument": document,
                    "position": positions,
                    "context": st.fixed_dictionaries({"triggerKind": st.integers(1, 2)}),
                }
            ),
        ),
        st.tuples(
            st.just("textDocument/completion"), st.fixed_dictionaries({"textDocument": document, "position": positions})
        ),
        st.tuples(
            st.just("workspace/executeCommand"),
            st.fixed_dictionaries(
                {"command": st.just("magicoder.ask"), "arguments": st.lists(argument, min_size=1, max_size=1)}
            ),
        ),
        st.tuples(
            st.sampled_from(["textDocument/hover", "initialize", "magicoder/x"]) | st.text(max_size=15), json_values
        ),
    )


def _slots(value: object, path: tuple = ()) -> list[tuple]:
    """Paths to every value inside params (dict keys and list indices)."""
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _slots(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _slots(inner, (*path, i))
    return found


@st.composite
def mutated(draw, valid: st.SearchStrategy) -> tuple[str, object]:
    """A valid request with 0 to 2 of its values replaced, dropped or joined by an extra key."""
    method, params = draw(valid)
    params = copy.deepcopy(params)
    for _ in range(draw(st.integers(0, 2))):
        path = draw(st.sampled_from(_slots(params)))
        if not path:
            params = draw(garbage)
            break
        *parents, last = path
        holder = params
        for key in parents:
            holder = holder[key]
        action = draw(st.sampled_from(["replace", "replace", "drop", "extra"]))
        if action == "drop" and isinstance(holder, dict):
            del holder[last]
        elif action == "extra" and isinstance(holder, dict):
            holder[draw(st.text(max_size=6))] = draw(garbage)
        else:
            holder[last] = draw(garbage)
    return method, params


def requests(uri: str) -> st.SearchStrategy:
    return mutated(valid_requests(uri))


def notifications(uri: str) -> st.SearchStrategy:
    change = st.fixed_dictionaries(
        {
            "textDocument": st.fixed_dictionaries({"uri": st.just(uri), "version": st.integers(2, 2**31)}),
            "contentChanges": st.lists(
                st.fixed_dictionaries({"range": ranges, "text": st.text(max_size=10)}), max_size=2
            ),
        }
    )
    return mutated(
        st.one_of(
            st.tuples(st.just("textDocument/didChange"), change),
            st.tuples(st.just("$/cancelRequest"), st.fixed_dictionaries({"id": st.integers(1, 50)})),
            st.tuples(st.just("workspace/didChangeConfiguration"), st.fixed_dictionaries({"settings": json_values})),
            st.tuples(st.text(max_size=15), json_values),
        )
    )


class FuzzedServer(RawServer):
    """The server on the fake engine, with the document the examples are about and how many requests it answered."""

    def __init__(self, uri: str) -> None:
        super().__init__("--fake-engine")
        self.uri = uri
        self.answered = 0


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """One server for all examples (the document lives in a temporary folder: Write tests may create files there)."""
    uri = (tmp_path_factory.mktemp("fuzz") / "code.py").as_uri()
    server = FuzzedServer(uri)
    server.initialize(options={"debounceMs": 0})
    server.notify(
        "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": TEXT}}
    )
    yield server
    # Still serving after everything: a well-formed request gets its result, and the process lives.
    response = server.call(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "context": {"diagnostics": []},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
        },
    )
    assert "result" in response and server.proc.poll() is None
    assert server.answered >= EXAMPLES
    assert server.close() == 0


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(data=st.data())
def test_every_request_is_answered(fuzzed: FuzzedServer, data):
    batch = data.draw(st.lists(requests(fuzzed.uri), min_size=1, max_size=5), label="requests")
    extra = data.draw(st.lists(notifications(fuzzed.uri), max_size=1), label="notification")
    ids = [fuzzed.request(method, params) for method, params in batch]
    for method, params in extra:
        fuzzed.send({"jsonrpc": "2.0", "method": method, "params": params})
    for msg_id in ids:
        response = fuzzed.wait(msg_id, ANSWER_TIMEOUT_S)
        assert ("result" in response) != ("error" in response), response
        if "error" in response:
            assert response["error"]["code"] in EXPECTED_ERRORS, response
        fuzzed.answered += 1
    assert fuzzed.proc.poll() is None

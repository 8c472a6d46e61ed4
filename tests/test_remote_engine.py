"""The remote engine against a scripted OpenAI-compatible server: what it sends, each fault as one clear
RemoteError, Retry-After, cancellation closing the stream, keys by origin, and the endpoint rules.

The same engine against a real server (llama-cpp-python's): test_remote_llama.py.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from lsp_server.engine.api import FINISH_CANCELLED, FINISH_EOS, CancelToken, GenerationResult
from lsp_server.engine.endpoint import ApiKeys, Endpoint, EndpointError, key_problem, origin_of, tls_context
from lsp_server.engine.openai_client import Timeouts
from lsp_server.engine.remote import MODEL_STOPS, TOKENIZER_PROBE, RemoteEngine, find_tokenizer
from lsp_server.engine.tokenizer import TextTokenizer
from lsp_server.magicoder import FIM_BEGIN, FIM_HOLE
from tests.helpers.openai_fake import MODEL, FakeOpenAI

KEY = "sk-test-1"


@pytest.fixture
def tokenizer(tiny_model: Path) -> Path:
    return tiny_model / "tokenizer.json"


def keys_for(fake: FakeOpenAI, key: str = KEY) -> ApiKeys:
    keys = ApiKeys()
    keys.set(origin_of(fake.url), key)
    return keys


async def connected(fake: FakeOpenAI, tokenizer: Path, **kwargs) -> RemoteEngine:
    engine = RemoteEngine(fake.url, tokenizer, **kwargs)
    connection = await engine.connect(keys_for(fake))
    assert connection.error is None, connection.error
    return engine


async def answer(engine: RemoteEngine, prompt: str = "p", stops: tuple[str, ...] = (), **options) -> GenerationResult:
    result = GenerationResult()
    pieces = [piece async for piece in engine.astream(prompt, 64, stops, result=result, **options)]
    assert "".join(pieces) == result.text
    return result


async def test_prompts_go_as_plain_completions_with_our_stops_and_never_a_suffix(tokenizer: Path):
    fim = f"{FIM_BEGIN}def f():\n    {FIM_HOLE}\n"
    with FakeOpenAI(key=KEY, answer=lambda p: "return 1\n```\nprose") as fake:
        engine = await connected(fake, tokenizer)
        result = await answer(engine, fim, ("\n```",))
        (sent,) = fake.completions()
    assert result.text == "return 1" and result.finish_reason == FINISH_EOS and result.prompt_tokens > 0
    assert sent.body is not None and sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["prompt"] == fim and "suffix" not in sent.body and sent.body["stream"] is True
    assert sent.body["model"] == MODEL and sent.body["max_tokens"] == 64 and sent.body["temperature"] == 0.0
    assert sent.body["stop"] == ["\n```", *MODEL_STOPS]
    assert engine.name == MODEL and engine.context_length == 4096 and engine.provider == "openai"


async def test_the_model_setting_is_checked_against_the_server_s_list(tokenizer: Path):
    with FakeOpenAI(key=KEY) as fake:
        fake.models = [{"id": "a"}, {"id": "b"}]
        engine = await connected(fake, tokenizer, model="b")
        assert engine.model == "b" and engine.context_length == 16384  # no max_model_len: the model's own
        missing = RemoteEngine(fake.url, tokenizer, model="c")
        error = (await missing.connect(keys_for(fake))).error
        assert error is not None and "has no model 'c'; it serves a, b" in error
        fake.models = []
        empty = RemoteEngine(fake.url, tokenizer)
        error = (await empty.connect(keys_for(fake))).error
        assert error is not None and "lists no models" in error


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("401", "refused the API key (HTTP 401): set it with the command Magicoder: Set API Key"),
        ("403", "refused the API key (HTTP 403)"),
        ("404-model", f"has no model '{MODEL}' (HTTP 404"),
        ("400", "refused the request (HTTP 400): injected 400"),
        ("429", "is busy (HTTP 429, it asks to retry after 1 s)"),
        ("503", "is busy (HTTP 503"),
        ("500", "failed (HTTP 500): injected 500"),
        ("html", "answered with a web page, not the OpenAI API: check magicoder.endpoint"),
        ("cut", "was cut off"),
        ("no-done", "ended before it was complete"),
        ("malformed", "sent a malformed event"),
        ("redirect", "redirects to https://elsewhere.example/v1/completions (HTTP 302)"),
    ],
)
async def test_each_fault_is_one_clear_error_naming_the_endpoint(tokenizer: Path, fault: str, says: str):
    with FakeOpenAI(key=KEY, answer=lambda p: "x" * 30) as fake:
        engine = await connected(fake, tokenizer)
        fake.fault = fault
        with pytest.raises(Exception) as caught:
            await answer(engine)
    assert (says in str(caught.value) and fake.url in str(caught.value)) or fault == "redirect"
    assert type(caught.value).__name__ == "RemoteError"


async def test_unreachable_and_unknown_hosts_are_named(tokenizer: Path):
    refused = RemoteEngine("http://127.0.0.1:9/v1", tokenizer)
    error = (await refused.connect(ApiKeys())).error
    assert error is not None and error.startswith("cannot reach http://127.0.0.1:9/v1")
    unknown = RemoteEngine("http://no-such-host.invalid:8000/v1", tokenizer, allow_insecure=True)
    error = (await unknown.connect(ApiKeys())).error
    assert error is not None and "cannot find the host no-such-host.invalid" in error


async def test_a_read_timeout_is_its_own_error(tokenizer: Path):
    with FakeOpenAI(key=KEY) as fake:
        engine = await connected(fake, tokenizer, timeouts=Timeouts(read_s=0.3))
        fake.fault = "hang"
        with pytest.raises(Exception, match=r"sent nothing for 0.3 s"):
            await answer(engine)


async def test_busy_is_retried_once_after_retry_after_only_when_patient(tokenizer: Path):
    with FakeOpenAI(key=KEY) as fake:
        engine = await connected(fake, tokenizer)
        fake.fault, fake.retry_after = "429", "0.2"
        with pytest.raises(Exception, match="is busy"):
            await answer(engine)  # inline completions never wait
        fake.fault = "429"
        started = time.monotonic()
        result = await answer(engine, patient=True)  # Ask: once, after Retry-After
        assert result.text and time.monotonic() - started >= 0.2
        assert len(fake.completions()) == 3


async def test_cancelling_closes_the_stream_and_the_server_notices(tokenizer: Path):
    with FakeOpenAI(key=KEY, token_s=0.02, answer=lambda p: "y" * 600) as fake:
        engine = await connected(fake, tokenizer)
        cancel, result = CancelToken(), GenerationResult()

        async def consume() -> None:
            async for _ in engine.astream("p", 200, (), cancel=cancel, result=result):
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)
        cancelled_at = time.monotonic()
        task.cancel()  # what the model host does when the token is cancelled
        with pytest.raises(asyncio.CancelledError):
            await task
        (stream,) = fake.completions()
        deadline = time.monotonic() + 2
        while stream.closed_at is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert stream.closed_at is not None and stream.closed_at - cancelled_at < 0.2
        assert stream.events_sent < 100  # it stopped well before the 200 events it was asked for
        later = await answer(engine)  # the next request is served at once
        assert later.text and later.finish_reason != FINISH_CANCELLED


async def test_the_tokenizer_is_checked_against_the_server_s(tokenizer: Path):
    local = TextTokenizer(tokenizer)
    with FakeOpenAI(key=KEY) as fake:
        fake.tokenize = lambda text: local.encode(text, add_bos=True)  # with BOS, as some servers answer
        assert (await RemoteEngine(fake.url, tokenizer).connect(keys_for(fake))).warnings == []
        fake.tokenize = lambda text: [*local.encode(text, add_bos=False)[:5], 7, 7]
        (warning,) = (await RemoteEngine(fake.url, tokenizer).connect(keys_for(fake))).warnings
        assert "tokenizes differently from the local tokenizer (first difference at token 5" in warning
        assert next(s.body for s in fake.seen if s.path == "/tokenize") == {
            "model": MODEL,
            "prompt": TOKENIZER_PROBE,
            "add_special_tokens": False,
        }


def test_keys_go_only_to_their_origin(monkeypatch: pytest.MonkeyPatch):
    keys = ApiKeys()
    keys.set("https://gpu-box:8000/v1", "a")
    assert keys.for_origin(origin_of("https://gpu-box:8000/other")) == "a"
    assert keys.for_origin(origin_of("https://gpu-box:8001/v1")) is None
    assert keys.for_origin(origin_of("http://gpu-box:8000/v1")) is None
    assert origin_of("https://Gpu-Box:443/v1") == "https://gpu-box"
    monkeypatch.setenv("MAGICODER_API_KEY", "env")
    monkeypatch.setenv("MAGICODER_API_KEY_ORIGIN", "https://team:8000")
    env = ApiKeys.from_environment()
    assert env.for_origin("https://team:8000") == "env" and env.for_origin("https://other:8000") is None
    monkeypatch.setenv("MAGICODER_API_KEY", "two\nlines")
    assert ApiKeys.from_environment().for_origin("https://team:8000") is None
    assert key_problem("two\nlines") and key_problem("") and key_problem("ok") is None
    with pytest.raises(ValueError, match="line break"):
        keys.set("https://gpu-box:8000", "x\r\n")


def test_endpoint_rules():
    assert Endpoint.parse("http://127.0.0.1:8000/v1/").base == "http://127.0.0.1:8000/v1"
    assert Endpoint.parse("http://localhost:8000/v1").root == "http://localhost:8000"
    assert Endpoint.parse("https://gpu-box/v1").secure
    with pytest.raises(EndpointError, match="plain http:// to another machine"):
        Endpoint.parse("http://gpu-box:8000/v1")
    assert Endpoint.parse("http://gpu-box:8000/v1", allow_insecure=True).host == "gpu-box"
    for bad in ("ftp://gpu-box/v1", "gpu-box:8000", "", "http://user:pw@gpu-box/v1", "http://gpu-box/v1?key=1"):
        with pytest.raises(EndpointError):
            Endpoint.parse(bad, allow_insecure=True)


def test_ca_bundle_must_be_a_pem_file(tmp_path: Path):
    with pytest.raises(EndpointError, match="is not a file"):
        tls_context(str(tmp_path / "none.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(EndpointError, match="no usable PEM"):
        tls_context(str(junk))
    assert tls_context().verify_mode.name == "CERT_REQUIRED"


def test_the_tokenizer_is_found_from_the_setting_the_model_folder_or_the_hub_cache(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert find_tokenizer(str(tiny_model)) == tiny_model / "tokenizer.json"
    assert find_tokenizer("", str(tiny_model)) == tiny_model / "tokenizer.json"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(Exception, match=r"set magicoder\.tokenizer"):
        find_tokenizer("", None)
    snapshot = tmp_path / "models--ise-uiuc--Magicoder-S-DS-6.7B" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "tokenizer.json").write_text("{}")
    assert find_tokenizer("", None) == snapshot / "tokenizer.json"
    with pytest.raises(Exception, match=r"is not a tokenizer\.json"):
        find_tokenizer(str(tmp_path / "nothing"))


def test_the_blocking_stream_works_outside_an_event_loop(tokenizer: Path):
    with FakeOpenAI(key=KEY, answer=lambda p: "print(1)\n") as fake:
        engine = RemoteEngine(fake.url, tokenizer)
        engine.keys = keys_for(fake)
        engine.model = MODEL
        result = engine.complete("p", 16)
    assert result.text == "print(1)\n"

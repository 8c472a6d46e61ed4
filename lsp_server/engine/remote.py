"""The remote engine: Magicoder served by a shared OpenAI-compatible server (vLLM, llama.cpp's servers).

Prompts stay ours: Magicoder's instruction template and DeepSeek's raw FIM string are rendered here and
sent as a plain prompt to /v1/completions (never the ``suffix`` field: vLLM refuses it and llama-cpp-python
fills the FIM ids with 0). Token budgets use the local tokenizer, which connect() checks against the
server's. Generations stream over SSE on the server's event loop; closing a stream stops the server's
generation. No onnxruntime here.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..magicoder import EOT, FIM_BEGIN, FIM_END, FIM_HOLE, MAX_POSITIONS, MODEL_ID
from . import manifest as manifest_mod
from .api import (
    FINISH_CANCELLED,
    FINISH_EOS,
    FINISH_LENGTH,
    FINISH_STOP,
    Connection,
    EngineError,
    InferenceEngine,
    StreamOptions,
    run_options,
)
from .endpoint import ApiKeys, Endpoint, tls_context
from .manifest import PromptFormat
from .openai_client import BUSY, TOKENIZE_TIMEOUT_S, OpenAIClient, RemoteError, Timeouts
from .stops import StopText
from .tokenizer import TextTokenizer

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger(__name__)

MODEL_STOPS = (EOT, FIM_BEGIN, FIM_HOLE, FIM_END)  # token texts the local engine stops on by id
# Tokenized by the server and here at connect: FIM markers, unicode, tabs and indentation, a line break run.
TOKENIZER_PROBE = f'{FIM_BEGIN}def f(x):\n    return "héllo wörld 😀 ü"  # ±\n{FIM_HOLE}\n\tpass\n\n\n{FIM_END}'
LONG_PROMPT_CHARS = 16_384  # tokenized in a worker thread, not on the event loop (about 4,000 tokens or more)
MAX_RETRY_AFTER_S = 30.0  # a busy server's Retry-After is waited for (once, for Ask) up to this long
TOKENIZER_HINT = (
    "the remote backend counts tokens with the model's tokenizer: set magicoder.tokenizer to the tokenizer.json of "
    f"{MODEL_ID} (or its folder), or magicoder.model to a model folder made by magicoder-export"
)


def folder_manifest(model_folder: str | None) -> manifest_mod.Manifest | None:
    """The manifest of a model folder made by magicoder-export, if ``model_folder`` is one."""
    if not model_folder:
        return None
    try:
        return manifest_mod.read(Path(model_folder).expanduser())
    except manifest_mod.ManifestError:
        return None


def find_tokenizer(
    tokenizer: str = "", model_folder: str | None = None, manifest: manifest_mod.Manifest | None = None
) -> Path:
    """tokenizer.json: the setting (a file or a folder), else the model folder's (``manifest``: its manifest, when
    already read), else the Hugging Face cache's."""
    if tokenizer:
        path = Path(tokenizer).expanduser()
        path = path / "tokenizer.json" if path.is_dir() else path
        if not path.is_file():
            raise EngineError(f"magicoder.tokenizer {tokenizer!r} is not a tokenizer.json nor a folder holding one")
        return path
    if model_folder:
        folder = Path(model_folder).expanduser()
        found = manifest or folder_manifest(model_folder)
        if found is not None:
            return folder / found.tokenizer
        if (folder / "tokenizer.json").is_file():
            return folder / "tokenizer.json"
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", "~/.cache/huggingface")) / "hub")
    repo = "models--" + MODEL_ID.replace("/", "--")
    cached = sorted(glob.glob(str(hub.expanduser() / repo / "snapshots" / "*" / "tokenizer.json")))
    if cached:
        return Path(cached[-1])
    raise EngineError(f"no tokenizer: {TOKENIZER_HINT}")


def _finish(choice: dict) -> str:
    if choice.get("finish_reason") == "length":
        return FINISH_LENGTH
    return FINISH_STOP if isinstance(choice.get("stop_reason"), str) else FINISH_EOS


class RemoteEngine(InferenceEngine):
    """An OpenAI-compatible endpoint, driven with Magicoder's own prompts."""

    provider = "openai"
    device = "remote"
    gate = None  # no model folder here: the server's operator answers for its weights

    def __init__(
        self,
        endpoint: str,
        tokenizer: Path,
        model: str = "",
        ca_bundle: str = "",
        allow_insecure: bool = False,
        prompt_format: PromptFormat | None = None,
        timeouts: Timeouts | None = None,
    ):
        self.endpoint = Endpoint.parse(endpoint, allow_insecure)
        self.tls = tls_context(ca_bundle)
        self.tokenizer = TextTokenizer(tokenizer, add_bos=True)
        self.requested_model = model.strip()
        self.model = self.requested_model  # the server's id, once known
        self._prompt_format = prompt_format or PromptFormat()
        self._context = MAX_POSITIONS
        self.timeouts = timeouts or Timeouts()
        self.keys = ApiKeys.from_environment()
        self.client: OpenAIClient | None = None  # made on the event loop that serves (connect)

    @property
    def name(self) -> str:
        return self.model or f"{self.endpoint.base} (model not known yet)"

    @property
    def prompt_format(self) -> PromptFormat:
        return self._prompt_format

    @property
    def context_length(self) -> int:
        return self._context

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

    def token_starts(self, text: str) -> Sequence[int]:
        return self.tokenizer.starts(text)

    # -- connecting ------------------------------------------------------------------------
    async def connect(self, keys: ApiKeys) -> Connection:
        """Pick the model and check the tokenizer. A server that cannot be reached now is an error to show,
        not a failed load: every request tries again, so a server that comes back is used at once."""
        self.keys = keys
        self.client = OpenAIClient(self.endpoint, keys, self.tls, self.timeouts)
        warnings = [w for w in (keys.env_problem,) if w]
        try:
            await self.resolve_model(self.client)
        except RemoteError as exc:
            return Connection(warnings, str(exc))
        warning = await self.check_tokenizer(self.client)
        return Connection([*warnings, warning] if warning else warnings)

    async def resolve_model(self, client: OpenAIClient) -> str:
        """The model to ask for: the setting, checked against GET /models, else the first one listed."""
        listing = await client.request_json("GET", "/models")
        entries = [e for e in (listing.get("data") if isinstance(listing, dict) else None) or [] if isinstance(e, dict)]
        ids = [str(e.get("id")) for e in entries if e.get("id")]
        where = self.endpoint.base
        if not ids:
            raise RemoteError(f"{where} lists no models (GET /models): check that it serves {MODEL_ID}", "no-model")
        if self.requested_model and self.requested_model not in ids:
            raise RemoteError(
                f"{where} has no model {self.requested_model!r}; it serves {', '.join(ids)}: set magicoder.remoteModel "
                "to one of them, or leave it empty",
                "no-model",
            )
        self.model = self.requested_model or ids[0]
        entry = entries[ids.index(self.model)]
        known = entry.get("max_model_len")  # vLLM says how long its context is
        if isinstance(known, int) and known > 0:
            self._context = known
        log.info("remote model %s at %s (context %d)", self.model, where, self._context)
        return self.model

    async def check_tokenizer(self, client: OpenAIClient) -> str | None:
        """Whether the server tokenizes a probe as the local tokenizer does (a warning when not, or unknown)."""
        local = self.tokenizer.encode(TOKENIZER_PROBE, add_bos=False)
        bos = self.tokenizer.encode("", add_bos=True)
        root = self.endpoint.root
        attempts = (  # vLLM, llama.cpp's llama-server, llama-cpp-python
            (f"{root}/tokenize", {"model": self.model, "prompt": TOKENIZER_PROBE, "add_special_tokens": False}),
            (f"{root}/tokenize", {"content": TOKENIZER_PROBE, "add_special": False}),
            (f"{root}/extras/tokenize", {"input": TOKENIZER_PROBE}),
        )
        for url, body in attempts:
            try:
                answer = await client.request_json("POST", url, body, timeout=TOKENIZE_TIMEOUT_S)
            except RemoteError:
                continue
            tokens = answer.get("tokens") if isinstance(answer, dict) else None
            if not isinstance(tokens, list):
                continue
            ids = [t.get("id") if isinstance(t, dict) else t for t in tokens]
            ids = ids[len(bos) :] if bos and ids[: len(bos)] == bos else ids  # some servers always add BOS
            if ids == local:
                log.info("%s tokenizes as the local tokenizer does (%d probe tokens)", self.endpoint.base, len(ids))
                return None
            at = next(
                (i for i, (a, b) in enumerate(zip(ids, local, strict=False)) if a != b), min(len(ids), len(local))
            )
            return (
                f"Magicoder: {self.endpoint.base} tokenizes differently from the local tokenizer (first difference at "
                f"token {at}: server {ids[at : at + 3]}, local {local[at : at + 3]}): prompts may be cut at the wrong "
                f"length and fill-in-the-middle may fail. Set magicoder.tokenizer to the served model's tokenizer."
            )
        return (
            f"Magicoder: {self.endpoint.base} has no tokenize endpoint, so the local tokenizer could not be checked "
            "against the server's; it is assumed to match."
        )

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    # -- generating ------------------------------------------------------------------------
    def _body(self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str], options: StreamOptions) -> dict:
        _, _, _, sampling = run_options(options)
        body = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": max_new_tokens,
            "temperature": sampling.temperature if not sampling.greedy else 0.0,
            "stream": True,
            "stop": list(dict.fromkeys([*(s for s in stop_strings if s), *MODEL_STOPS])),
        }
        # Servers have their own defaults (llama-cpp-python: repeat_penalty 1.1, top_k 40, top_p 0.95, min_p 0.05):
        # say ours, so that a greedy answer is the local engine's. vLLM's name, then llama.cpp's.
        body.update(repetition_penalty=sampling.repetition_penalty, repeat_penalty=sampling.repetition_penalty)
        if not sampling.greedy:
            body.update(top_p=sampling.top_p, top_k=sampling.top_k, min_p=0.0)
            if sampling.seed is not None:
                body["seed"] = sampling.seed
        return body

    def astream(
        self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str] = (), **options: Unpack[StreamOptions]
    ) -> AsyncIterator[str]:
        if self.client is None:
            raise EngineError("the remote engine is not connected")
        return self._generate(self.client, prompt, max_new_tokens, stop_strings, options)

    async def _generate(
        self,
        client: OpenAIClient,
        prompt: str,
        max_new_tokens: int,
        stop_strings: Sequence[str],
        options: StreamOptions,
    ) -> AsyncGenerator[str, None]:
        cancel, result, _, _ = run_options(options)
        # Counted for the log line and the status; a long prompt (a big selection) off the event loop.
        count = partial(self.tokenizer.count, prompt)
        result.prompt_tokens = await asyncio.to_thread(count) if len(prompt) > LONG_PROMPT_CHARS else count()
        if cancel is not None and cancel.cancelled:
            result.finish_reason = FINISH_CANCELLED
            return
        if not self.model:
            await self.resolve_model(client)
        body = self._body(prompt, max_new_tokens, stop_strings, options)
        cut, start, first_at = StopText(stop_strings), time.perf_counter(), None
        for attempt in (1, 2):
            try:
                async for event in client.completion_events(body):
                    choice = (event.get("choices") or [{}])[0]
                    text = str(choice.get("text") or "")
                    piece = cut.push(text)
                    if text:
                        # While streaming, one entry per event (servers send one token per event), for progress
                        # counts; at the end, the local tokenizer's ids of the answer.
                        result.token_ids.append(-1)
                        if first_at is None:
                            first_at = time.perf_counter()
                            result.ttft_s = first_at - start
                    if piece:
                        result.text += piece
                        yield piece
                    if choice.get("finish_reason"):
                        result.finish_reason = _finish(choice)
                    if cut.stopped or (cancel is not None and cancel.cancelled):
                        break  # leaving the stream closes it: the server stops generating
                break
            except RemoteError as exc:
                wait = exc.retry_after
                if not (exc.cause == BUSY and options.get("patient") and attempt == 1 and not result.text):
                    raise
                if wait is None or wait > MAX_RETRY_AFTER_S:
                    raise
                log.info("%s is busy: retrying once in %.1f s", self.endpoint.base, wait)
                await asyncio.sleep(wait)
        tail = cut.finish()
        if tail:
            result.text += tail
            yield tail
        if cancel is not None and cancel.cancelled:
            result.finish_reason = FINISH_CANCELLED
        elif cut.stopped:
            result.finish_reason = FINISH_STOP
        result.token_ids = self.tokenizer.encode(result.text, add_bos=False)  # the local tokenizer's count
        result.decode_s = time.perf_counter() - first_at if first_at is not None else 0.0

    def stream(
        self, prompt: str, max_new_tokens: int, stop_strings: Sequence[str] = (), **options: Unpack[StreamOptions]
    ) -> Iterator[str]:
        """A blocking generation, for tools outside the server: its own event loop and connection."""
        loop = asyncio.new_event_loop()
        client = OpenAIClient(self.endpoint, self.keys, self.tls, self.timeouts)
        pieces = self._generate(client, prompt, max_new_tokens, stop_strings, options)
        try:
            while True:
                try:
                    piece = loop.run_until_complete(pieces.__anext__())
                except StopAsyncIteration:
                    return
                yield piece
        finally:
            loop.run_until_complete(pieces.aclose())
            loop.run_until_complete(client.aclose())
            loop.close()

"""The engine on the tiny model: stop conditions, streaming, cancellation, errors; the manifest contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsp_server.engine import CancelToken, Engine, EngineError, GenerationResult, ModelNotFoundError
from lsp_server.engine import manifest as manifest_mod
from lsp_server.engine.stops import StopMatcher
from lsp_server.engine.tokenizer import IncrementalDecoder

PROMPT = "def parse(line):\n"


def test_stream_pieces_join_to_the_result_text(engine):
    result = GenerationResult()
    pieces = list(engine.stream(PROMPT, 24, result=result))
    assert "".join(pieces) == result.text
    assert result.text == engine.tokenizer.decode(result.token_ids)
    assert result.finish_reason in {"length", "eos"}
    assert result.prompt_tokens == len(engine.tokenizer.encode(PROMPT))
    assert result.ttft_s > 0


def test_max_new_tokens_is_respected(engine):
    for n in (1, 5):
        result = engine.complete(PROMPT, n)
        assert len(result.token_ids) <= n
        assert result.finish_reason in {"length", "eos"}


def test_stop_string_cuts_across_token_boundaries(engine):
    free = engine.complete(PROMPT, 40)
    assert len(free.text) > 6, "the tiny model should say something"
    # A stop string made of the tail of one token and the head of the next.
    stop = free.text[3:7]
    stopped = GenerationResult()
    pieces = list(engine.stream(PROMPT, 40, stop_strings=[stop], result=stopped))
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[: free.text.find(stop)]
    assert "".join(pieces) == stopped.text  # nothing beyond the stop was ever streamed


def test_cancel_stops_within_one_step(engine):
    cancel = CancelToken()
    result = GenerationResult()
    stream = engine.stream(PROMPT, 200, cancel=cancel, result=result)
    seen = 0
    for _ in stream:
        seen = len(result.token_ids)
        cancel.cancel()
    assert result.finish_reason == "cancelled"
    assert len(result.token_ids) <= seen + 1
    # The engine is free again at once.
    assert engine.complete(PROMPT, 2).finish_reason in {"length", "eos"}


def test_context_overflow_is_a_clear_error(engine):
    long_prompt = "x = 1\n" * (engine.manifest.dims.context_length // 2)
    with pytest.raises(EngineError, match="context"):
        engine.complete(long_prompt, 8)


def test_stop_matcher_holds_back_possible_stop_prefixes():
    stops = StopMatcher(["\n```", "END"])
    assert stops.find("code\n```\nmore") == 4
    assert stops.find("no stop here") == -1
    assert stops.safe_length("abc\n`") == 3
    assert stops.safe_length("abc E") == 4
    assert stops.safe_length("abc") == 3


def test_incremental_decoder_never_emits_half_a_character(engine):
    text = "s = '🐍 漢字 naïve — ok'\n"
    ids = engine.tokenizer.encode(text, add_bos=False)
    decoder = IncrementalDecoder(engine.tokenizer)
    pieces = [decoder.push(i) for i in ids] + [decoder.flush()]
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) == engine.tokenizer.decode(ids)


def test_missing_model_folder_says_how_to_build_one(tmp_path: Path):
    with pytest.raises(ModelNotFoundError, match="magicoder-export tiny"):
        Engine(tmp_path / "nowhere")
    with pytest.raises(ModelNotFoundError, match=r"no manifest\.json"):
        Engine(tmp_path)


def test_manifest_round_trip(tiny_model: Path, tmp_path: Path):
    manifest = manifest_mod.read(tiny_model)
    data = manifest_mod.to_dict(manifest)
    assert manifest_mod.from_dict(json.loads(json.dumps(data))) == manifest
    for name in (manifest.graph, manifest.tokenizer):
        (tmp_path / name).write_bytes(b"")
    manifest_mod.write(manifest, tmp_path)
    assert manifest_mod.read(tmp_path) == manifest


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schema_version": manifest_mod.SCHEMA_VERSION + 1}, "upgrade magicoder-lsp"),
        ({"schema_version": "1"}, "integer schema_version"),
        ({"kv": {"layout": "paged"}}, "unknown kv.layout"),
        ({"prompt": {"template": "no placeholder"}}, "placeholder"),
        ({"dims": {"num_layers": 4}}, "invalid"),
    ],
)
def test_manifest_errors_are_clear(tiny_model: Path, change: dict, message: str):
    data = manifest_mod.to_dict(manifest_mod.read(tiny_model))
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and key != "dims" else value
    with pytest.raises(manifest_mod.ManifestError, match=message):
        manifest_mod.from_dict(data)


def test_manifest_names_files_that_must_exist(tiny_model: Path, tmp_path: Path):
    manifest_mod.write(manifest_mod.read(tiny_model), tmp_path)
    with pytest.raises(manifest_mod.ManifestError, match=r"lacks model\.onnx"):
        manifest_mod.read(tmp_path)


def test_prefix_reuse_gives_identical_output_and_prefills_only_the_edit(engine):
    document = "import os\n\n\ndef walk(root):\n    for name in os.listdir(root):\n        print(name)\n" * 8
    edited = document[:-20] + "X" + document[-20:]  # a one-character edit near the end
    cold = engine.complete(edited, 24, reuse_prefix=False)
    assert cold.cached_tokens == 0
    engine.complete(document, 24)  # leaves the document's KV in the cache
    warm = engine.complete(edited, 24)
    assert warm.token_ids == cold.token_ids and warm.text == cold.text
    assert warm.cached_tokens > 0.8 * warm.prompt_tokens
    # A prompt that is a prefix of the cached sequence still gets its last token recomputed.
    again = engine.complete(edited, 24)
    assert again.cached_tokens == again.prompt_tokens - 1 and again.token_ids == cold.token_ids


def test_prefix_cache_grows_and_keeps_the_shared_prefix(engine):
    short = engine.complete("def a():\n", 4, reuse_prefix=False)
    capacity = engine.cache.kv.capacity
    longer_prompt = "def a():\n" + "    x = 1\n" * (capacity // 3)
    grown = engine.complete(longer_prompt, 8)
    assert engine.cache.kv.capacity > capacity and grown.cached_tokens > 0
    assert grown.token_ids == engine.complete(longer_prompt, 8, reuse_prefix=False).token_ids
    assert short.token_ids == engine.complete("def a():\n", 4).token_ids


def test_sampling_is_seeded_and_greedy_at_zero_temperature(engine):
    from lsp_server.engine import Sampling

    greedy = engine.complete(PROMPT, 16)
    assert engine.complete(PROMPT, 16, sampling=Sampling(temperature=0.0, seed=3)).token_ids == greedy.token_ids
    assert engine.complete(PROMPT, 16, sampling=Sampling(temperature=5.0, top_k=1)).token_ids == greedy.token_ids
    hot = Sampling(temperature=1.5, top_p=0.95, seed=11)
    first = engine.complete(PROMPT, 16, sampling=hot)
    assert engine.complete(PROMPT, 16, sampling=hot).token_ids == first.token_ids  # same seed, same text
    assert first.token_ids != greedy.token_ids
    other = engine.complete(PROMPT, 16, sampling=Sampling(temperature=1.5, top_p=0.95, seed=12))
    assert other.token_ids != first.token_ids


def test_sampler_respects_top_k_top_p_and_repetition_penalty():
    import numpy as np

    from lsp_server.engine.sampling import Sampler, Sampling

    logits = np.array([5.0, 4.0, 3.0, -1.0, -2.0], dtype=np.float32)
    top2 = Sampler(Sampling(temperature=10.0, top_k=2, seed=0))
    assert {top2(logits) for _ in range(200)} == {0, 1}
    nucleus = Sampler(Sampling(temperature=1.0, top_p=0.5, seed=0))
    assert {nucleus(logits) for _ in range(100)} == {0}  # token 0 alone holds > 50 % of the mass
    penalized = Sampler(Sampling(repetition_penalty=10.0)).penalize(logits, [0, 4, 99])
    assert penalized[0] == 0.5 and penalized[4] == -20.0 and penalized[1] == 4.0
    assert Sampler(Sampling(repetition_penalty=10.0))(logits, [0]) == 1
    with pytest.raises(ValueError):
        Sampling(top_p=0.0)


@pytest.fixture(scope="module")
def concat_model(tiny_model: Path, tmp_path_factory) -> Path:
    """The tiny graph driven in the concat layout: GroupQueryAttention also runs with separate
    past [.., past_len, ..] and present [.., past_len + new, ..] buffers, exactly the Hugging Face
    convention, so the engine's feed-back path is exercised without a second exporter."""
    import dataclasses
    import shutil

    folder = tmp_path_factory.mktemp("concat")
    for name in ("model.onnx", "model.onnx.data", "tokenizer.json"):
        shutil.copyfile(tiny_model / name, folder / name)
    manifest = manifest_mod.read(tiny_model)
    kv = dataclasses.replace(manifest.kv, layout=manifest_mod.KV_CONCAT)
    manifest_mod.write(dataclasses.replace(manifest, kv=kv), folder)
    return folder


def test_concat_layout_generates_the_same_tokens_with_and_without_reuse(engine, concat_model: Path):
    concat = Engine(concat_model)
    reference = engine.complete(PROMPT, 24, reuse_prefix=False)
    assert concat.complete(PROMPT, 24, reuse_prefix=False).token_ids == reference.token_ids
    longer = PROMPT + "    return line.split(',')\n"
    expected = engine.complete(longer, 16, reuse_prefix=False).token_ids
    warm = concat.complete(longer, 16)  # shares PROMPT's tokens with the cached sequence
    assert warm.cached_tokens > 0 and warm.token_ids == expected
    assert type(concat.cache.kv).__name__ == "ConcatKv"


def test_cuda_request_without_cuda_falls_back_to_cpu_with_one_warning(tiny_model: Path, caplog):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: the fallback path is the GPU check's business")
    with caplog.at_level("WARNING"):
        cpu = Engine(tiny_model, device="cuda")
    assert cpu.device == "cpu" and cpu.provider == "CPUExecutionProvider"
    warnings = [r for r in caplog.records if "CUDA" in r.getMessage()]
    assert len(warnings) == 1 and "running on CPU" in warnings[0].getMessage()
    with pytest.raises(ValueError, match="device must be one of"):
        Engine(tiny_model, device="tpu")


def test_generations_are_served_in_arrival_order(engine):
    import threading
    import time

    from lsp_server.engine.engine import FifoLock

    lock, order = FifoLock(), []

    def worker(name: str, delay: float) -> None:
        time.sleep(delay)
        with lock:
            order.append(name)
            time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(f"w{i}", i * 0.01)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == [f"w{i}" for i in range(6)]


def test_a_request_cancelled_while_queued_does_no_work(engine):
    cancel = CancelToken()
    cancel.cancel()
    result = engine.complete(PROMPT * 50, 8, cancel=cancel)
    assert result.finish_reason == "cancelled" and result.token_ids == [] and result.ttft_s == 0


def test_cancel_terminates_an_inflight_prefill_and_keeps_the_engine_usable(engine):
    import threading
    import time

    long_prompt = "def f(x):\n    return x * 2 + 1\n" * 700  # ~10k tokens: a prefill of seconds
    full = engine.complete(long_prompt, 1, reuse_prefix=False)
    cancel = CancelToken()
    timer = threading.Timer(full.ttft_s / 10, cancel.cancel)
    timer.start()
    started = time.perf_counter()
    result = engine.complete(long_prompt, 4, cancel=cancel, reuse_prefix=False)
    elapsed = time.perf_counter() - started
    timer.join()
    assert result.finish_reason == "cancelled" and result.token_ids == []
    assert elapsed < full.ttft_s / 2, f"terminated after {elapsed:.2f}s; a full prefill takes {full.ttft_s:.2f}s"
    after = engine.complete(PROMPT, 8)
    assert after.token_ids == engine.complete(PROMPT, 8, reuse_prefix=False).token_ids

"""magicoder-export gguf: the f32 llama.cpp GGUF of a Hugging Face Llama folder, read back by gguf's reader, by
llama.cpp itself (llama-cpp-python) against transformers, and served by llama-cpp-python's OpenAI-compatible
server (the fixture the remote backend's tests use)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from export.gguf_writer import BLOCK_TENSORS, _load_f32, permute, read_hparams, unpermute, write_gguf
from lsp_server.magicoder import BOS, EOT, FIM_BEGIN, FIM_END, FIM_HOLE
from tests.helpers.llama_server import LlamaServer, require_llama_server, start_llama_server
from tests.helpers.markers import needs_real_tokenizer
from tests.helpers.paths import SHARED_TOKENIZER

LLAMA_CPP_VOCAB = SHARED_TOKENIZER / "source" / "ggml-vocab-deepseek-coder.gguf"
CONTROL, USER_DEFINED, UNUSED = 3, 4, 5  # gguf.TokenType
PROBE = (
    f"{FIM_BEGIN}def füß(a, b):\n"
    '    """naïve café 漢字 🐍"""\n'
    "\tif a  >=  12345:\r\n"
    f"        return [x**2 for x in b]{FIM_HOLE}\n"
    f"    return None{FIM_END}{EOT}   trailing  \n\n\n"
    "Führer ünïcode 3.14e-10 <|User|> <pad> ok"
)


def _fields(reader) -> dict:
    return {name: field.contents() for name, field in reader.fields.items()}


def _hf_tensors(hf_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(hf_dir / "model.safetensors"))


# --- the permutation ---------------------------------------------------------------------------------------


def test_permute_interleaves_each_heads_halves_and_unpermute_inverts_it():
    rows = np.arange(8, dtype=np.float32).reshape(8, 1)  # 2 heads of dim 4: [x0 x1 y0 y1] per head
    assert permute(rows, 2).ravel().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    rng = np.random.default_rng(0)
    for n_head, n_kv, head_dim in [(8, 8, 32), (8, 2, 16)]:
        q = rng.standard_normal((n_head * head_dim, 24)).astype(np.float32)
        k = rng.standard_normal((n_kv * head_dim, 24)).astype(np.float32)
        assert np.array_equal(unpermute(permute(q, n_head, n_head), n_head), q)
        assert np.array_equal(unpermute(permute(k, n_head, n_kv), n_kv), k)  # k: the KV head count


def _rope_halves(x: np.ndarray, pos: int, theta: float) -> np.ndarray:
    """transformers' Llama RoPE for one head: rotate_half pairs (i, i + d/2)."""
    d = x.shape[0]
    angle = pos * theta ** (-np.arange(0, d, 2) / d)
    cos, sin = np.concatenate([np.cos(angle)] * 2), np.concatenate([np.sin(angle)] * 2)
    rotated = np.concatenate([-x[d // 2 :], x[: d // 2]])
    return x * cos + rotated * sin


def _rope_interleaved(x: np.ndarray, pos: int, theta: float) -> np.ndarray:
    """llama.cpp's LLAMA RoPE (normal mode) for one head: pairs (2i, 2i + 1)."""
    d = x.shape[0]
    angle = pos * theta ** (-np.arange(0, d, 2) / d)
    out = x.copy()
    out[0::2] = x[0::2] * np.cos(angle) - x[1::2] * np.sin(angle)
    out[1::2] = x[0::2] * np.sin(angle) + x[1::2] * np.cos(angle)
    return out


def test_permuted_weights_under_interleaved_rope_give_transformers_attention_scores():
    rng = np.random.default_rng(1)
    n_head, head_dim, hidden, theta = 2, 8, 16, 100000.0
    wq, wk = rng.standard_normal((2, n_head * head_dim, hidden))
    x_q, x_k = rng.standard_normal((2, hidden))
    for pos_q, pos_k in [(5, 2), (40, 39), (7, 0)]:
        for h in range(n_head):
            heads = slice(h * head_dim, (h + 1) * head_dim)
            hf = _rope_halves((wq @ x_q)[heads], pos_q, theta) @ _rope_halves((wk @ x_k)[heads], pos_k, theta)
            ours = _rope_interleaved((permute(wq, n_head) @ x_q)[heads], pos_q, theta) @ _rope_interleaved(
                (permute(wk, n_head) @ x_k)[heads], pos_k, theta
            )
            assert ours == pytest.approx(hf, rel=1e-9, abs=1e-9)


# --- what the file says ---------------------------------------------------------------------------------


def test_metadata_is_what_convert_hf_to_gguf_writes_for_a_llama(tiny_gguf: Path, tiny_model: Path):
    import gguf

    config = json.loads((tiny_model / "hf" / "config.json").read_text())
    fields = _fields(gguf.GGUFReader(tiny_gguf))
    n_head = config["num_attention_heads"]
    expected = {
        "general.architecture": "llama",
        "general.name": "magicoder-tiny",
        "general.file_type": 0,  # ALL_F32
        "llama.block_count": config["num_hidden_layers"],
        "llama.context_length": 16384,
        "llama.embedding_length": config["hidden_size"],
        "llama.feed_forward_length": config["intermediate_size"],
        "llama.attention.head_count": n_head,
        "llama.attention.head_count_kv": config["num_key_value_heads"],
        "llama.rope.dimension_count": config["hidden_size"] // n_head,
        "llama.rope.freq_base": 100000.0,
        "llama.rope.scaling.type": "linear",
        "llama.rope.scaling.factor": 4.0,
        "llama.vocab_size": config["vocab_size"],
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "deepseek-coder",
        "tokenizer.ggml.bos_token_id": config["bos_token_id"],
        "tokenizer.ggml.eos_token_id": config["eos_token_id"],
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.ggml.add_eos_token": False,
    }
    assert {k: fields.get(k) for k in expected} == expected
    assert fields["llama.attention.layer_norm_rms_epsilon"] == pytest.approx(1e-6)

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_model / "hf" / "tokenizer.json"))
    tokens, types = fields["tokenizer.ggml.tokens"], fields["tokenizer.ggml.token_type"]
    assert len(tokens) == len(types) == config["vocab_size"]
    assert fields["tokenizer.ggml.eot_token_id"] == tok.token_to_id(EOT)
    fim = {key: fields[f"tokenizer.ggml.{key}_token_id"] for key in ("fim_pre", "fim_suf", "fim_mid")}
    assert fim == {
        "fim_pre": tok.token_to_id(FIM_BEGIN),
        "fim_suf": tok.token_to_id(FIM_HOLE),
        "fim_mid": tok.token_to_id(FIM_END),
    }
    n_tokens = tok.get_vocab_size(with_added_tokens=True)
    assert tokens[:n_tokens] == [tok.id_to_token(i) for i in range(n_tokens)]
    assert types[tok.token_to_id(BOS)] == CONTROL
    assert {types[tok.token_to_id(t)] for t in (FIM_BEGIN, FIM_HOLE, FIM_END, EOT, "<pad>")} == {USER_DEFINED}
    assert tokens[n_tokens:] == [f"[PAD{i}]" for i in range(n_tokens, len(tokens))]
    assert set(types[n_tokens:]) <= {UNUSED}


def test_tensors_have_llama_cpp_names_and_shapes_and_q_k_are_permuted(tiny_gguf: Path, tiny_model: Path):
    import gguf

    config = json.loads((tiny_model / "hf" / "config.json").read_text())
    n_head, n_kv = config["num_attention_heads"], config["num_key_value_heads"]
    hf = _hf_tensors(tiny_model / "hf")
    reader = gguf.GGUFReader(tiny_gguf)
    names = [t.name for t in reader.tensors]
    expected = ["token_embd.weight"]
    for i in range(config["num_hidden_layers"]):
        expected += [f"blk.{i}.{name}" for name in BLOCK_TENSORS.values()]
    assert names == [*expected, "output_norm.weight", "output.weight"]
    ours_to_hf = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight"}
    ours_to_hf["output.weight"] = "lm_head.weight"
    for i in range(config["num_hidden_layers"]):
        ours_to_hf |= {f"blk.{i}.{ours}": f"model.layers.{i}.{theirs}" for theirs, ours in BLOCK_TENSORS.items()}
    for tensor in reader.tensors:
        assert tensor.tensor_type == gguf.GGMLQuantizationType.F32
        want = hf[ours_to_hf[tensor.name]]
        data = np.asarray(tensor.data)
        assert data.shape == want.shape and list(tensor.shape) == list(reversed(want.shape))
        if tensor.name.endswith("attn_q.weight"):
            assert not np.array_equal(data, want)
            data = unpermute(data, n_head)
        elif tensor.name.endswith("attn_k.weight"):
            data = unpermute(data, n_kv)
        assert np.array_equal(data, want), tensor.name


@pytest.mark.skipif(not LLAMA_CPP_VOCAB.is_file(), reason=f"{LLAMA_CPP_VOCAB} is not present")
@needs_real_tokenizer  # nearest first: its reason when the whole folder is missing
def test_vocabulary_matches_llama_cpps_own_deepseek_coder_vocab(tiny_gguf: Path):
    import gguf

    ours, theirs = _fields(gguf.GGUFReader(tiny_gguf)), _fields(gguf.GGUFReader(LLAMA_CPP_VOCAB))
    for key in ("model", "pre", "tokens", "merges", "bos_token_id", "eos_token_id", "padding_token_id"):
        assert ours[f"tokenizer.ggml.{key}"] == theirs[f"tokenizer.ggml.{key}"], key
    for key in ("add_bos_token", "add_eos_token"):
        assert ours[f"tokenizer.ggml.{key}"] == theirs[f"tokenizer.ggml.{key}"], key
    # The one deliberate difference: padding rows are UNUSED (current convert), USER_DEFINED in that older file.
    types = zip(ours["tokenizer.ggml.token_type"], theirs["tokenizer.ggml.token_type"], strict=True)
    differ = [i for i, (a, b) in enumerate(types) if a != b]
    assert differ == list(range(32022, 32256))
    assert {ours["tokenizer.ggml.token_type"][i] for i in differ} == {UNUSED}


# --- what it refuses -----------------------------------------------------------------------------------------


def _micro_checkpoint(folder: Path, config_changes: dict | None = None, dtype: str = "float32") -> Path:
    """A 1-layer Llama folder of a few kB (config + safetensors), tokenizer left out."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 8,
        "intermediate_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "max_position_embeddings": 64,
        "rms_norm_eps": 1e-6,
        "vocab_size": 16,
        "rope_theta": 10000.0,
    } | (config_changes or {})
    (folder / "config.json").write_text(json.dumps(config))
    shapes = {"model.embed_tokens.weight": (16, 8), "model.norm.weight": (8,), "lm_head.weight": (16, 8)}
    for name, shape in {
        "input_layernorm.weight": (8,),
        "self_attn.q_proj.weight": (8, 8),
        "self_attn.k_proj.weight": (8, 8),
        "self_attn.v_proj.weight": (8, 8),
        "self_attn.o_proj.weight": (8, 8),
        "post_attention_layernorm.weight": (8,),
        "mlp.gate_proj.weight": (16, 8),
        "mlp.up_proj.weight": (16, 8),
        "mlp.down_proj.weight": (8, 16),
    }.items():
        shapes[f"model.layers.0.{name}"] = shape
    dt = getattr(torch, dtype)
    save_file({n: torch.ones(s).to(dt) for n, s in shapes.items()}, str(folder / "model.safetensors"))
    return folder


@pytest.mark.parametrize(
    ("changes", "dtype", "message"),
    [
        ({"architectures": ["MistralForCausalLM"]}, "float32", "only LlamaForCausalLM"),
        ({"architectures": ["LlamaForSequenceClassification"]}, "float32", "only LlamaForCausalLM"),
        ({"quantization_config": {"quant_method": "gptq"}}, "float32", "quantized .gptq."),
        ({}, "int8", "is I8; only f32, bf16 or f16"),
        ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "float32", "RoPE scaling 'llama3'"),
        ({"attention_bias": True}, "float32", "biases"),
    ],
)
def test_refuses_what_it_cannot_write(tmp_path: Path, changes: dict, dtype: str, message: str):
    folder = _micro_checkpoint(tmp_path / "ckpt", changes, dtype)
    with pytest.raises(ValueError, match=message):
        write_gguf(folder, tmp_path / "out.gguf")
    assert list(tmp_path.glob("*.gguf*")) == [] and list(tmp_path.glob(".*partial")) == []


def test_the_cli_reports_a_refusal_and_writes_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    from export.cli import main

    folder = _micro_checkpoint(tmp_path / "ckpt", {"architectures": ["GPT2LMHeadModel"]})
    assert main(["gguf", str(folder), "--output", str(tmp_path / "out.gguf")]) == 2
    assert "only LlamaForCausalLM" in caplog.text and not (tmp_path / "out.gguf").exists()


def test_reads_both_rope_config_forms():
    base = {
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 16384,
        "rms_norm_eps": 1e-6,
        "vocab_size": 100,
    }
    new = read_hparams(base | {"rope_parameters": {"rope_type": "linear", "factor": 4.0, "rope_theta": 100000.0}})
    old = read_hparams(base | {"rope_scaling": {"type": "linear", "factor": 4.0}, "rope_theta": 100000.0})
    assert new == old
    assert (new.rope_linear_factor, new.rope_theta, new.n_head_kv, new.head_dim) == (4.0, 100000.0, 4, 16)
    plain = read_hparams(base)
    assert (plain.rope_linear_factor, plain.rope_theta) == (None, 10000.0)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_checkpoints_load_as_f32(tmp_path: Path, dtype: str):
    import torch

    folder = _micro_checkpoint(tmp_path / "ckpt", dtype=dtype)
    data = _load_f32(folder / "model.safetensors", "lm_head.weight")
    assert data.dtype == np.float32 and data.shape == (16, 8) and np.all(data == 1.0)
    assert getattr(torch, dtype)  # the dtype exists in this torch


# --- llama.cpp reads it as transformers does ------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_cpp_model(tiny_gguf: Path):
    """llama.cpp on the GGUF, f32 KV cache (its default f16 cache alone differs from transformers by ~3e-4)."""
    require_llama_server()
    from llama_cpp import GGML_TYPE_F32, Llama

    return Llama(
        model_path=str(tiny_gguf),
        n_ctx=1024,
        logits_all=False,
        verbose=False,
        seed=0,
        n_threads=1,
        type_k=GGML_TYPE_F32,
        type_v=GGML_TYPE_F32,
    )


@needs_real_tokenizer
def test_llama_cpp_tokenizes_as_the_deepseek_coder_tokenizer(llama_cpp_model, tiny_model: Path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_model / "hf" / "tokenizer.json"))
    expected = tok.encode(PROBE).ids
    assert expected[0] == tok.token_to_id(BOS) and tok.token_to_id(FIM_BEGIN) in expected
    # special=True: how the server tokenizes a prompt; special=False: added tokens that are USER_DEFINED match too.
    assert llama_cpp_model.tokenize(PROBE.encode(), add_bos=True, special=True) == expected
    assert llama_cpp_model.tokenize(PROBE.encode(), add_bos=True, special=False) == expected


def test_llama_cpp_shows_the_text_of_fim_and_eot_tokens_but_not_of_bos(llama_cpp_model, tiny_model: Path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_model / "hf" / "tokenizer.json"))
    for text in (FIM_BEGIN, FIM_HOLE, FIM_END, EOT):
        assert llama_cpp_model.detokenize([tok.token_to_id(text)]).decode() == text
    assert llama_cpp_model.detokenize([tok.token_to_id(BOS)]) == b""


def _last_logits(model, ids: list[int]) -> np.ndarray:
    import llama_cpp

    model.reset()
    model.eval(ids)
    return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(model.ctx, -1), shape=(model.n_vocab(),)).copy()


def test_llama_cpp_logits_match_transformers(llama_cpp_model, hf_model, tiny_model: Path):
    import torch
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_model / "hf" / "tokenizer.json"))
    # Long enough that RoPE's linear scaling and the q/k permutation both show (each alone: ~3e-2).
    prompt = "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n" * 4
    ids = tok.encode(prompt).ids
    with torch.no_grad():
        want = hf_model(torch.tensor([ids])).logits[0, -1].numpy()
    got = _last_logits(llama_cpp_model, ids)
    diff = float(np.abs(got - want).max())
    print(f"llama.cpp vs transformers, {len(ids)} tokens: max |logit diff| = {diff:.2e}")
    assert diff < 1e-4
    assert int(got.argmax()) == int(want.argmax())


# --- the server fixture -------------------------------------------------------------------------------------


def _request(server: LlamaServer, path: str, body: dict | None = None, key: str | None = None):
    request = urllib.request.Request(
        f"{server.base_url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key or server.api_key}", "Content-Type": "application/json"},
    )
    return urllib.request.urlopen(request, timeout=60)


def _sse_events(response) -> list:
    events = []
    for raw in response:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("data: "):
            data = line[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_the_server_lists_the_model_and_refuses_a_wrong_key(llama_server: LlamaServer):
    assert llama_server.base_url.startswith("http://127.0.0.1:") and llama_server.base_url.endswith("/v1")
    with _request(llama_server, "/models") as response:
        assert json.loads(response.read())["data"][0]["id"] == llama_server.model
    with pytest.raises(urllib.error.HTTPError) as refused:
        _request(llama_server, "/models", key="wrong")
    assert refused.value.code == 401
    assert json.loads(refused.value.read()) == {"detail": "Invalid API key"}


def test_the_server_streams_a_completion_and_stops_on_a_stop_string(llama_server: LlamaServer):
    body = {"model": llama_server.model, "prompt": "def add(a, b):\n", "max_tokens": 16, "temperature": 0}
    with _request(llama_server, "/completions", body | {"stream": True}) as response:
        events = _sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [e["choices"][0] for e in events[:-1]]
    assert [c["finish_reason"] for c in chunks] == [None] * (len(chunks) - 1) + ["length"]
    texts = [c["text"] for c in chunks]
    full = "".join(texts)
    # The server matches stop strings on the generated bytes, while the text it sends drops bytes that are not
    # UTF-8 (errors="ignore"): a random model's byte tokens can split a stop string taken from the text, so stop on
    # one whole ASCII piece.
    stop = next(t for t in texts[1:] if len(t.strip()) >= 2 and t.isascii())
    with _request(llama_server, "/completions", body | {"stream": True, "stop": [stop]}) as response:
        events = _sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [e["choices"][0] for e in events[:-1]]
    assert "".join(c["text"] for c in chunks) == full[: full.find(stop)]
    assert chunks[-1]["finish_reason"] == "stop"


def test_the_server_ends_on_eot_and_shows_fim_tokens_as_text(llama_server: LlamaServer, tiny_model: Path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_model / "hf" / "tokenizer.json"))
    body = {"prompt": "def add(a, b):\n", "max_tokens": 3, "temperature": 0}
    with _request(llama_server, "/completions", body | {"logit_bias": {str(tok.token_to_id(EOT)): 100}}) as r:
        choice = json.loads(r.read())["choices"][0]
    assert (choice["text"], choice["finish_reason"]) == ("", "stop")  # EOT is an end-of-generation token
    with _request(llama_server, "/completions", body | {"logit_bias": {str(tok.token_to_id(FIM_END)): 100}}) as r:
        choice = json.loads(r.read())["choices"][0]
    assert choice["text"] == FIM_END * 3  # shown, so a client's stop strings see it


def test_a_server_that_cannot_start_fails_with_its_log(tmp_path: Path):
    require_llama_server()
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(RuntimeError, match="exited with") as failure:
        with start_llama_server(bad, log_path=tmp_path / "server.log", startup_timeout=60):
            pass
    assert f"Failed to load model from file: {bad}" in str(failure.value)  # the log's tail

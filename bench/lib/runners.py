"""The benchmarks' runners: this engine, onnxruntime-genai, transformers and optimum, each answering the same
calls on the same token ids (bench.lib.worker serves one in its own process).

  generate(ids, new)   -> {"ttft_s", "decode_tps", "tokens"}
  reuse(doc, edited)   (ours only) -> cold and warm TTFT
  cancel(ids)          (ours only) -> cancel latency, step time
A runner's imports happen in its constructor: the optimum runner runs under another interpreter.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from pathlib import Path


class Ours:
    def __init__(self, folder: str, threads: int, device: str = "auto"):
        from lsp_server.engine import Engine

        self.engine = Engine(Path(folder), threads=threads, device=device)

    def _run(self, ids: list[int], new: int, reuse: bool = False, cancel=None):
        from lsp_server.engine import GenerationResult
        from lsp_server.engine.generate import generate

        result = GenerationResult()
        for _ in generate(
            self.engine.cache, self.engine.tokenizer, ids, new, cancel=cancel, result=result, reuse_prefix=reuse
        ):
            pass
        return result

    def generate(self, ids: list[int], new: int) -> dict:
        r = self._run(ids, new)
        return {"ttft_s": r.ttft_s, "decode_tps": r.decode_tokens_per_s, "tokens": r.token_ids}

    def reuse(self, doc: list[int], edited: list[int]) -> dict:
        cold = self._run(edited, 1)
        self._run(doc, 8)  # the document before the edit is what the cache holds
        warm = self._run(edited, 1, reuse=True)
        return {"cold_ttft_s": cold.ttft_s, "warm_ttft_s": warm.ttft_s, "cached": warm.cached_tokens}

    def cancel(self, ids: list[int]) -> dict:
        from lsp_server.engine import CancelToken, GenerationResult
        from lsp_server.engine.generate import generate

        token, result, stamps = CancelToken(), GenerationResult(), []

        def run() -> None:
            for _ in generate(self.engine.cache, self.engine.tokenizer, ids, 400, cancel=token, result=result):
                stamps.append(time.perf_counter())

        worker = threading.Thread(target=run)
        worker.start()
        while len(stamps) < 30:
            time.sleep(0.001)
        cancelled_at = time.perf_counter()
        token.cancel()
        worker.join()
        steps = [b - a for a, b in itertools.pairwise(stamps[5:])]  # past the first steps' warm-up
        return {
            "cancel_s": time.perf_counter() - cancelled_at,
            "step_s": statistics.median(steps),
            "finish": result.finish_reason,
        }


class Genai:
    def __init__(self, folder: str, threads: int, device: str = "auto"):
        import onnxruntime_genai as og

        self.og = og
        config = og.Config(folder)
        if device == "cpu":  # a graph exported for cuda, run on this machine's CPU
            config.clear_providers()
        self.model = og.Model(config)

    def generate(self, ids: list[int], new: int) -> dict:
        og = self.og
        params = og.GeneratorParams(self.model)
        # max_length sized per request: the default (16384) preallocates the whole context.
        params.set_search_options(max_length=len(ids) + new, min_length=len(ids) + new, do_sample=False)
        start = time.perf_counter()
        gen = og.Generator(self.model, params)
        gen.append_tokens(ids)
        tokens: list[int] = []
        first = None
        while not gen.is_done() and len(tokens) < new:
            gen.generate_next_token()
            tokens.append(int(gen.get_next_tokens()[0]))
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        assert first is not None, "genai generated no token"
        decode_tps = (len(tokens) - 1) / (end - first) if len(tokens) > 1 else 0.0
        return {"ttft_s": first - start, "decode_tps": decode_tps, "tokens": tokens}


class Transformers:
    def __init__(self, folder: str, threads: int):
        import torch
        from transformers import AutoModelForCausalLM

        torch.set_num_threads(threads)
        self.torch = torch
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32").eval()

    def _timed(self, ids: list[int], new: int) -> tuple[float, list[int]]:
        torch = self.torch
        start = time.perf_counter()
        with torch.no_grad():
            out = self.model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                do_sample=False,
                max_new_tokens=new,
                min_new_tokens=new,
                pad_token_id=0,
            )
        return time.perf_counter() - start, out[0, len(ids) :].tolist()

    def generate(self, ids: list[int], new: int) -> dict:
        ttft, _ = self._timed(ids, 1)
        total, tokens = self._timed(ids, new)
        return {"ttft_s": ttft, "decode_tps": (new - 1) / max(total - ttft, 1e-9), "tokens": tokens}


class Optimum(Transformers):
    """optimum's ORTModelForCausalLM on the graph optimum exported (concat KV), with transformers'
    generate: runs in .venv-optimum (optimum-onnx needs transformers<4.58)."""

    def __init__(self, folder: str, threads: int):
        import onnxruntime as ort
        import torch
        from optimum.onnxruntime import ORTModelForCausalLM

        torch.set_num_threads(threads)
        self.torch = torch
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        self.model = ORTModelForCausalLM.from_pretrained(
            folder, session_options=options, use_cache=True, provider="CPUExecutionProvider"
        )


RUNNERS = {"ours": Ours, "genai": Genai, "transformers": Transformers, "optimum": Optimum}

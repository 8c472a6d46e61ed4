"""Parity of the exported ONNX model with transformers on the same weights.

Both sides run greedy decoding from the same token ids; we compare the chosen tokens and the
logits at every step where the two sequences still agree.  fp32 must match exactly in tokens
and within ``FP32_MAX_LOGIT_DIFF`` in logits; other precisions are measured and reported.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lsp_server.engine.manifest import Manifest
from lsp_server.engine.session import DecoderSession
from lsp_server.engine.tokenizer import TextTokenizer

from .describe import package_versions

FP32_MAX_LOGIT_DIFF = 1e-4
PARITY_PROMPTS = (
    "def fibonacci(n):\n",
    "import os\nimport sys\n\n\nclass Config:\n    def __init__(self, path):\n",
    "// binary search over a sorted array\nfunction search(xs, target) {\n",
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and "
    "reliable responses to user instructions.\n\n@@ Instruction\nWrite a function that reverses a "
    "string.\n\n@@ Response\n```python\n",
    "SELECT name, count(*) FROM users WHERE created_at > '2024-01-01' GROUP BY name",
)


class ParityError(RuntimeError):
    """The exported graph does not reproduce transformers; the message says what differed."""


@dataclass
class PromptParity:
    prompt: str
    prompt_tokens: int
    reference_tokens: list[int]
    onnx_tokens: list[int]
    first_divergence: int | None
    max_logit_diff: float
    max_rel_logit_error: float


@dataclass
class ParityReport:
    precision: str
    new_tokens: int
    thresholds: dict
    passed: bool
    prompts: list[PromptParity] = field(default_factory=list)
    max_logit_diff: float = 0.0
    max_rel_logit_error: float = 0.0
    tokens_identical: bool = True
    seconds: float = 0.0
    versions: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def reference_greedy(hf_model, ids: list[int], new_tokens: int) -> tuple[list[int], np.ndarray]:
    """transformers generate(do_sample=False): tokens and raw per-step logits [steps, vocab]."""
    import torch

    with torch.no_grad():
        out = hf_model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=False,
            max_new_tokens=new_tokens,
            min_new_tokens=0,
            eos_token_id=None,
            pad_token_id=0,
            output_logits=True,
            return_dict_in_generate=True,
        )
    tokens = out.sequences[0, len(ids) :].tolist()
    logits = torch.stack(out.logits, dim=0)[:, 0].float().numpy()
    return tokens, logits


def onnx_greedy(session: DecoderSession, ids: list[int], new_tokens: int) -> tuple[list[int], np.ndarray]:
    """The engine's decode path (shared KV buffer), collecting per-step logits [steps, vocab]."""
    cache = session.new_cache(len(ids) + new_tokens)
    logits = session.forward(ids, cache)
    tokens, steps = [], []
    for step in range(new_tokens):
        steps.append(logits.copy())
        tokens.append(int(np.argmax(logits)))
        if step + 1 < new_tokens:
            logits = session.forward([tokens[-1]], cache)
    return tokens, np.stack(steps)


def compare_prompt(hf_model, session, tokenizer, prompt: str, new_tokens: int) -> PromptParity:
    ids = tokenizer.encode(prompt)
    ref_tokens, ref_logits = reference_greedy(hf_model, ids, new_tokens)
    our_tokens, our_logits = onnx_greedy(session, ids, new_tokens)
    diverge = next((i for i, (a, b) in enumerate(zip(ref_tokens, our_tokens)) if a != b), None)
    # Logits are comparable up to and including the first divergent step (same inputs until then).
    upto = len(ref_tokens) if diverge is None else diverge + 1
    diff = np.abs(ref_logits[:upto] - our_logits[:upto])
    scale = np.abs(ref_logits[:upto]).max(axis=-1, keepdims=True) + 1e-12
    return PromptParity(
        prompt=prompt,
        prompt_tokens=len(ids),
        reference_tokens=ref_tokens,
        onnx_tokens=our_tokens,
        first_divergence=diverge,
        max_logit_diff=float(diff.max()),
        max_rel_logit_error=float((diff / scale).max()),
    )


def check_parity(
    hf_model,
    folder: Path,
    manifest: Manifest,
    precision: str,
    new_tokens: int = 32,
    prompts: tuple[str, ...] = PARITY_PROMPTS,
) -> ParityReport:
    """Run every prompt on both sides; the report says whether the precision's gate passed."""
    start = time.perf_counter()
    session = DecoderSession(folder, manifest)
    tokenizer = TextTokenizer(folder / manifest.tokenizer, add_bos=manifest.prompt.add_bos)
    gate = precision == "fp32"
    report = ParityReport(
        precision=precision,
        new_tokens=new_tokens,
        thresholds={"tokens_identical": gate, "max_logit_diff": FP32_MAX_LOGIT_DIFF if gate else None},
        passed=True,
        versions=package_versions(),
    )
    for prompt in prompts:
        result = compare_prompt(hf_model, session, tokenizer, prompt, new_tokens)
        report.prompts.append(result)
        if result.first_divergence is not None:
            report.tokens_identical = False
            if gate:
                report.failures.append(
                    f"greedy tokens diverge at step {result.first_divergence} for prompt {prompt[:40]!r}: "
                    f"transformers {result.reference_tokens[result.first_divergence]}, "
                    f"onnx {result.onnx_tokens[result.first_divergence]}"
                )
    report.max_logit_diff = max(p.max_logit_diff for p in report.prompts)
    report.max_rel_logit_error = max(p.max_rel_logit_error for p in report.prompts)
    if gate and report.max_logit_diff > FP32_MAX_LOGIT_DIFF:
        report.failures.append(
            f"max logit difference {report.max_logit_diff:.3g} exceeds {FP32_MAX_LOGIT_DIFF:g}"
        )
    report.passed = not report.failures
    report.seconds = time.perf_counter() - start
    return report

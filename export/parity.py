"""What the parity gate measures: the exported ONNX model against transformers on the same weights.

Two kinds of comparison, each with a transformers side (the reference) and an ONNX side (the
engine's own decode path, through its KV cache):

* greedy: both sides decode greedily from the same prompt; we compare the chosen tokens and the
  logits at every step where the sequences still agree (same inputs up to the first divergence);
* teacher-forced: both sides read the same held-out code text token by token; we compare the
  next-token distributions at every position: top-1 agreement, perplexity, logit error, KL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lsp_server.magicoder import MAGICODER_PROMPT_TEMPLATE
from lsp_server.prompts import build_ask_prompt

PARITY_PROMPTS = (
    "def fibonacci(n):\n",
    "import os\nimport sys\n\n\nclass Config:\n    def __init__(self, path):\n",
    "// binary search over a sorted array\nfunction search(xs, target) {\n",
    # an Ask Magicoder prompt, as the server builds it
    build_ask_prompt(MAGICODER_PROMPT_TEMPLATE, "Write a function that reverses a string.", "", "python"),
    "SELECT name, count(*) FROM users WHERE created_at > '2024-01-01' GROUP BY name",
)


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
class Fidelity:
    """Teacher-forced comparison on held-out text (``positions`` next-token predictions)."""

    texts: int
    positions: int
    top1_agreement: float  # argmax(onnx) == argmax(transformers)
    reference_top1_accuracy: float  # argmax(transformers) == the actual next token
    onnx_top1_accuracy: float
    reference_perplexity: float
    onnx_perplexity: float
    perplexity_ratio: float
    mean_kl: float  # KL(transformers || onnx), nats per position
    max_logit_diff: float
    max_rel_logit_error: float
    finite: bool


def rel_error(reference: np.ndarray, ours: np.ndarray) -> np.ndarray:
    """Per row: max |difference| / max |reference logit|."""
    scale = np.abs(reference).max(axis=-1) + 1e-12
    return np.abs(reference - ours).max(axis=-1) / scale


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


def own_copy(logits) -> np.ndarray:
    """The session's logits as our own float32 array (it hands out a view of a buffer it reuses)."""
    return np.array(logits, dtype=np.float32, copy=True)


def onnx_greedy(session, ids: list[int], new_tokens: int) -> tuple[list[int], np.ndarray]:
    """The engine's decode path (its KV cache), collecting per-step logits [steps, vocab]."""
    cache = session.new_cache(len(ids) + new_tokens)
    logits = session.forward(ids, cache)
    tokens, steps = [], []
    for step in range(new_tokens):
        steps.append(own_copy(logits))
        tokens.append(int(np.argmax(logits)))
        if step + 1 < new_tokens:
            logits = session.forward([tokens[-1]], cache)
    return tokens, np.stack(steps)


def onnx_teacher_forced(session, ids: list[int]) -> np.ndarray:
    """The ONNX logits at every position, one decode step per token through the KV cache."""
    cache = session.new_cache(len(ids))
    return np.stack([own_copy(session.forward([token], cache)) for token in ids])


def continuation_logits(reference: np.ndarray, prompt_len: int, steps: int) -> np.ndarray:
    """From transformers' logits over prompt + ONNX continuation, those predicting each continuation token.

    One forward pass over prompt + continuation instead of ``generate``'s sequential steps: where
    the ONNX tokens are transformers' argmax at every step, greedy ``generate`` would have produced
    exactly them (the inputs agree step by step); at the first step where they differ, both sides
    had the same inputs, so that step's logits are comparable too.
    """
    return reference[prompt_len - 1 : prompt_len - 1 + steps]


def compare_greedy(
    prompt: str, ids: list[int], ref_logits: np.ndarray, ours: tuple[list[int], np.ndarray]
) -> PromptParity:
    """``ref_logits`` from ``continuation_logits`` over the ONNX tokens."""
    our_tokens, our_logits = ours
    ref_tokens = [int(t) for t in ref_logits.argmax(axis=-1)]
    diverge = next((i for i, (a, b) in enumerate(zip(ref_tokens, our_tokens, strict=False)) if a != b), None)
    # Logits are comparable up to and including the first divergent step (same inputs until then).
    upto = len(ref_tokens) if diverge is None else diverge + 1
    return PromptParity(
        prompt=prompt,
        prompt_tokens=len(ids),
        reference_tokens=ref_tokens[:upto],
        onnx_tokens=our_tokens,
        first_divergence=diverge,
        max_logit_diff=float(np.abs(ref_logits[:upto] - our_logits[:upto]).max()),
        max_rel_logit_error=float(rel_error(ref_logits[:upto], our_logits[:upto]).max()),
    )


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def compare_teacher_forced(texts_ids: list[list[int]], reference: list[np.ndarray], ours: list[np.ndarray]) -> Fidelity:
    """Position i's logits predict token i+1; the last position of each text predicts nothing."""
    targets = np.concatenate([np.asarray(ids[1:]) for ids in texts_ids])
    ref = np.concatenate([r[:-1] for r in reference])
    our = np.concatenate([o[:-1] for o in ours])
    finite = bool(np.isfinite(our).all())
    our_safe = np.nan_to_num(our, nan=0.0, posinf=1e4, neginf=-1e4)
    ref_lp, our_lp = _log_softmax(ref), _log_softmax(our_safe)
    rows = np.arange(len(targets))
    ref_nll, our_nll = -ref_lp[rows, targets].mean(), -our_lp[rows, targets].mean()
    ref_top, our_top = ref.argmax(axis=-1), our_safe.argmax(axis=-1)
    return Fidelity(
        texts=len(texts_ids),
        positions=len(targets),
        top1_agreement=float((ref_top == our_top).mean()),
        reference_top1_accuracy=float((ref_top == targets).mean()),
        onnx_top1_accuracy=float((our_top == targets).mean()),
        reference_perplexity=float(np.exp(ref_nll)),
        onnx_perplexity=float(np.exp(our_nll)),
        perplexity_ratio=float(np.exp(our_nll - ref_nll)),
        mean_kl=float((np.exp(ref_lp) * (ref_lp - our_lp)).sum(axis=-1).mean()),
        max_logit_diff=float(np.abs(ref - our_safe).max()),
        max_rel_logit_error=float(rel_error(ref, our_safe).max()),
        finite=finite,
    )

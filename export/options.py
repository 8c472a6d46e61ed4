"""What `magicoder-export build` was asked for, with the per-target defaults filled in and checked."""

from __future__ import annotations

from dataclasses import dataclass, replace

PRECISIONS = ("fp32", "fp16", "int4", "int8")
TARGETS = ("cpu", "cuda")
EXPORTERS = ("builder", "optimum")
# cpu: int4 MatMulNBits is the fastest and smallest; cuda: fp16 (int4 for the smallest footprint).
DEFAULT_PRECISION = {"cpu": "int4", "cuda": "fp16"}
BLOCK_SIZES = (16, 32, 64, 128, 256)
ACCURACY_LEVELS = (0, 1, 2, 3, 4)
# The builder's defaults: accuracy level 4 (int8 activations) on cpu, 0 (unset) on cuda.
DEFAULT_ACCURACY_LEVEL = {"cpu": 4, "cuda": 0}
# enforce: a graph that fails the parity gate is not published; report: it is, with a warning and
# its failing parity report (benchmarks on random weights, where int4 drifts and speed is the point).
PARITY_GATES = ("enforce", "report")


@dataclass(frozen=True)
class BuildOptions:
    precision: str | None = None  # None: the target's default
    target: str = "cpu"
    exporter: str = "builder"
    max_context: int | None = None
    int4_block_size: int = 32
    int4_accuracy_level: int | None = None  # None: the target's default
    trust_remote_code: bool = False
    parity_tokens: int = 64
    fidelity_tokens: int = 512
    parity_gate: str = "enforce"
    streaming: bool = True  # convert module by module (export/streaming.py); False: the stock in-memory builder
    gate_on_cpu: bool = False  # gate a cuda graph on the CPU when CUDA is not usable (else: status "pending")

    def resolved(self) -> BuildOptions:
        """Defaults filled in; raises ValueError for combinations that cannot work."""
        if self.target not in TARGETS:
            raise ValueError(f"--target must be one of {TARGETS}, got {self.target!r}")
        if self.exporter not in EXPORTERS:
            raise ValueError(f"--exporter must be one of {EXPORTERS}, got {self.exporter!r}")
        default = "fp32" if self.exporter == "optimum" else DEFAULT_PRECISION[self.target]
        precision = self.precision or default
        if precision not in PRECISIONS:
            raise ValueError(f"--precision must be one of {PRECISIONS}, got {precision!r}")
        if self.exporter == "optimum" and precision != "fp32":
            raise ValueError(
                "--exporter optimum writes fp32 graphs only; use the default builder exporter for "
                f"{precision} (MatMulNBits int4/int8, fp16)"
            )
        if self.int4_block_size not in BLOCK_SIZES:
            raise ValueError(f"--int4-block-size must be one of {BLOCK_SIZES}, got {self.int4_block_size}")
        level = DEFAULT_ACCURACY_LEVEL[self.target] if self.int4_accuracy_level is None else self.int4_accuracy_level
        if level not in ACCURACY_LEVELS:
            raise ValueError(f"--int4-accuracy-level must be one of {ACCURACY_LEVELS}, got {level}")
        if self.max_context is not None and self.max_context < 16:
            raise ValueError(f"--max-context must be at least 16 tokens, got {self.max_context}")
        if self.parity_gate not in PARITY_GATES:
            raise ValueError(f"--parity-gate must be one of {PARITY_GATES}, got {self.parity_gate!r}")
        if self.parity_tokens < 1:
            raise ValueError("--parity-tokens must be positive")
        return replace(self, precision=precision, int4_accuracy_level=level)

    @property
    def quantized(self) -> bool:
        return self.precision in ("int4", "int8")

    def builder_extra_options(self) -> dict[str, str]:
        """The model builder's extra options (onnxruntime-genai 0.18 names: block_size, accuracy_level)."""
        extra = {}
        if self.quantized:
            extra["block_size"] = str(self.int4_block_size)
            extra["accuracy_level"] = str(self.int4_accuracy_level)
        if self.trust_remote_code:
            extra["hf_remote"] = "true"
        return extra

    def describe(self) -> str:
        text = f"{self.precision} for {self.target} via {self.exporter}"
        if self.quantized:
            text += f" (block size {self.int4_block_size}, accuracy level {self.int4_accuracy_level})"
        if self.max_context:
            text += f", context {self.max_context}"
        return text

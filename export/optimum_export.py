"""optimum-onnx's text-generation-with-past export, run inside the optimum environment.

This file is executed by path with the optimum environment's interpreter (``.venv-optimum``, see
scripts/setup-optimum.sh): optimum-onnx 0.1.0 needs transformers<4.58 and cannot be imported next to
the main environment's transformers 5.  It imports nothing from this project.

    python optimum_export.py HF_DIR OUT_DIR [--trust-remote-code]

It writes OUT_DIR/model.onnx (+ model.onnx.data): one merged decoder with the Hugging Face "concat"
KV layout (input_ids, attention_mask, position_ids, past_key_values.N.key/value -> logits,
present.N.key/value).  Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def legacy_rope_config(config: dict) -> dict:
    """transformers 5 saves ``rope_parameters``; transformers 4.57 reads ``rope_scaling`` + ``rope_theta``.

    Without this translation transformers 4.57 silently drops Magicoder's linear x4 scaling.
    """
    params = config.get("rope_parameters")
    if not isinstance(params, dict):
        return config
    config = dict(config)
    config.setdefault("rope_theta", params.get("rope_theta", 10000.0))
    rope_type = params.get("rope_type", "default")
    if rope_type != "default" and not config.get("rope_scaling"):
        scaling = {k: v for k, v in params.items() if k not in ("rope_theta", "rope_type")}
        config["rope_scaling"] = {"type": rope_type, "rope_type": rope_type, **scaling}
    return config


def load_model(hf_dir: Path, trust_remote_code: bool):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    raw = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
    fixed = legacy_rope_config(raw)
    config = AutoConfig.from_pretrained(hf_dir, trust_remote_code=trust_remote_code)
    for key in ("rope_theta", "rope_scaling"):
        if key in fixed:
            setattr(config, key, fixed[key])
    say(f"[convert] rope: theta {getattr(config, 'rope_theta', None)}, scaling {getattr(config, 'rope_scaling', None)}")
    model = AutoModelForCausalLM.from_pretrained(
        hf_dir, config=config, torch_dtype=torch.float32, trust_remote_code=trust_remote_code
    )
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("hf_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--trust-remote-code", action="store_true")
    args = parser.parse_args(argv)

    import transformers
    from optimum.exporters.onnx import onnx_export_from_model

    start = time.perf_counter()
    say(f"[load] transformers {transformers.__version__}: {args.hf_dir}")
    model = load_model(args.hf_dir, args.trust_remote_code)
    say(f"[convert] optimum-onnx text-generation-with-past -> {args.out_dir}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    # Its own validation runs the graph once more against PyTorch; ours (in the main environment) is stricter.
    onnx_export_from_model(model, args.out_dir, task="text-generation-with-past", do_validation=False)
    if not (args.out_dir / "model.onnx").is_file():
        say(f"optimum wrote no model.onnx into {args.out_dir}")
        return 1
    say(f"[convert] optimum export done in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write a random-weight Hugging Face checkpoint of Magicoder-S-DS-6.7B's exact shape, tensor by tensor.

  .venv/bin/python -m bench.fullsize_checkpoint OUT [--layers 32] [--shard-gb 5] [--seed 0] [--width full|tiny]

The writer is bench.lib.checkpoint; bench.export_fullsize writes its checkpoints with it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.lib.checkpoint import WIDTHS, CheckpointSpec, write_checkpoint
from bench.lib.paths import SHARED_TOKENIZER


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fullsize_checkpoint", description=__doc__.split("\n")[0])
    p.add_argument("output", type=Path)
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--shard-gb", type=float, default=5.0, help="largest shard in GB (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", choices=WIDTHS, default="full", help=argparse.SUPPRESS)
    p.add_argument("--tokenizer", type=Path, default=SHARED_TOKENIZER)
    args = p.parse_args(argv)
    spec = CheckpointSpec.of_width(args.width, layers=args.layers, seed=args.seed, shard_bytes=int(args.shard_gb * 1e9))
    info = write_checkpoint(args.output, spec, args.tokenizer)
    print(f"{args.output}: {info['bytes'] / 1e9:.2f} GB in {info['shards']} shards, {info['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

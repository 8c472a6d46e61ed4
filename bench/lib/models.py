"""The benchmarks' models, built once and cached: random-weight Hugging Face checkpoints with Magicoder's
architecture at a given width, and their exports per precision.  A folder that already holds its
config.json (checkpoint) or manifest.json (export) is reused as it is."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bench.lib.paths import SHARED_TOKENIZER, WORK, usable_tokenizer

Log = Callable[[str], None]

# The engine benchmark's model (~134M parameters), which the decode benchmarks reuse, and its quick variant.
ENGINE_SHAPE = {"hidden": 768, "layers": 12, "heads": 12, "intermediate": 2064}
QUICK_SHAPE = {"hidden": 256, "layers": 4, "heads": 8, "intermediate": 688}
ENGINE_SEED = 7


def shape_tag(shape: dict) -> str:
    return "h{hidden}-l{layers}".format(**shape)


def hf_model(
    folder: Path, shape: dict, seed: int, tokenizer: Path | None = SHARED_TOKENIZER, log: Log | None = None
) -> Path:
    """The checkpoint of ``shape`` (hidden, layers, heads, intermediate) in ``folder``, built when missing,
    with ``tokenizer``'s files where that folder has them (else a tokenizer trained by the exporter)."""
    from export.tiny import TinySpec, build_tiny_hf_model

    if not (folder / "config.json").is_file():
        start = time.perf_counter()
        spec = TinySpec(
            hidden_size=shape["hidden"],
            num_layers=shape["layers"],
            num_heads=shape["heads"],
            intermediate_size=shape["intermediate"],
            seed=seed,
        )
        build_tiny_hf_model(folder, spec, usable_tokenizer(tokenizer))
        if log:
            log(f"Hugging Face model built in {time.perf_counter() - start:.0f}s")
    return folder


def exported(
    hf: Path, out: Path, precision: str, target: str, extra: Sequence[str] = (), log: Log | None = None
) -> Path:
    """``magicoder-export build`` of ``hf`` into ``out`` at ``precision`` for ``target``, unless ``out`` has one."""
    from export.cli import main as export_main

    if not (out / "manifest.json").is_file():
        start = time.perf_counter()
        argv = ["build", str(hf), "--output", str(out), "--precision", precision, "--target", target, *extra]
        code = export_main(argv)
        if code != 0:
            raise SystemExit(f"export of {hf} as {precision} for {target} into {out} failed ({code})")
        if log:
            log(f"{precision} exported in {time.perf_counter() - start:.0f}s")
    return out


def tiny_model(folder: Path, tokenizer: Path | None = SHARED_TOKENIZER) -> Path:
    """The demo's tiny model (`magicoder-export tiny`) in ``folder``, built when it has no manifest."""
    from export.cli import main as export_main

    if not (folder / "manifest.json").is_file():
        found = usable_tokenizer(tokenizer)
        if export_main(["tiny", "--output", str(folder), *(["--tokenizer", str(found)] if found else [])]) != 0:
            raise SystemExit(f"building the tiny model into {folder} failed")
    return folder


def engine_models(shape: dict, builds: Mapping[str, tuple[str, Sequence[str]]]) -> dict[str, Path]:
    """The engine benchmark's checkpoint ("hf") and its cpu exports: name -> (precision, extra build options)."""
    tag = shape_tag(shape)
    folders = {"hf": hf_model(WORK / f"hf-{tag}", shape, ENGINE_SEED)}
    for name, (precision, extra) in builds.items():
        folders[name] = exported(folders["hf"], WORK / f"{tag}-{name}", precision, "cpu", extra)
    return folders


def built_model(precision: str, threads: int) -> Path:
    """The engine benchmark's default-shape export at ``precision``, set up for genai with ``threads``."""
    folder = WORK / f"{shape_tag(ENGINE_SHAPE)}-{precision}"
    if not (folder / "manifest.json").is_file():
        raise SystemExit(f"{folder} is missing: run `python -m bench.engine_bench` first")
    set_genai_threads(folder, threads)
    return folder


def set_genai_threads(folder: Path, threads: int) -> None:
    """genai defaults to 1 intra-op thread: give it the same as ours."""
    path = folder / "genai_config.json"
    config = json.loads(path.read_text())
    config["model"]["decoder"]["session_options"]["intra_op_num_threads"] = threads
    path.write_text(json.dumps(config, indent=4))

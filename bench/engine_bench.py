"""Engine benchmark: this engine vs onnxruntime-genai (same graph) vs transformers generate.

  .venv/bin/python -m bench.engine_bench [--reps 5] [--quick]

Builds a ~134M-parameter random-weight model of Magicoder's shape (hidden 768, 12 layers,
12 heads, intermediate 2064, vocab 32256, linear RoPE x4), exports it fp32 and int4, then runs
every case on every runner, interleaved (rep 1 of every runner, then rep 2, ..., each rep starting
with the next runner), each runner in its own worker process so that its peak RSS is its own.  Medians are written with ratios to
bench/RESULTS.md and bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "bench"
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "deepseek-coder-tokenizer"
SHAPE = dict(hidden=768, layers=12, heads=12, intermediate=2064)
QUICK_SHAPE = dict(hidden=256, layers=4, heads=8, intermediate=688)


OPTIMUM_PYTHON = ROOT / ".venv-optimum" / "bin" / "python"


class Worker:
    def __init__(self, name: str, kind: str, folder: Path, threads: int, python: Path | None = None):
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [str(python or sys.executable), "-m", "bench.runners", kind, str(folder), str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )
        self.ask_raw()  # {"ready": true}

    def ask_raw(self, cmd: dict | None = None) -> dict:
        if cmd is not None:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker {self.name} died")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def build_models(shape: dict) -> dict[str, Path]:
    """HF checkpoint + fp32 and int4 model folders (cached under .cache/bench)."""
    from export.cli import main as export_main
    from export.tiny import TinySpec, build_tiny_hf_model

    tag = "h{hidden}-l{layers}".format(**shape)
    hf = WORK / f"hf-{tag}"
    if not (hf / "config.json").is_file():
        spec = TinySpec(hidden_size=shape["hidden"], num_layers=shape["layers"], num_heads=shape["heads"],
                        intermediate_size=shape["intermediate"], seed=7)
        build_tiny_hf_model(hf, spec, SHARED_TOKENIZER if SHARED_TOKENIZER.is_dir() else None)
    folders = {"hf": hf}
    builds = {"fp32": [], "int4": []}
    if OPTIMUM_PYTHON.is_file():  # optimum's own graph (concat KV), when its environment exists
        builds["optimum-fp32"] = ["--exporter", "optimum"]
    for name, extra in builds.items():
        out = WORK / f"{tag}-{name}"
        precision = name.rsplit("-", 1)[-1]
        if not (out / "manifest.json").is_file():
            code = export_main(["build", str(hf), "--output", str(out), "--precision", precision, "--target", "cpu",
                                *extra])
            if code != 0:
                raise SystemExit(f"export {name} failed ({code})")
        folders[name] = out
    return folders


def built_model(precision: str, threads: int) -> Path:
    """The default-shape model folder that this benchmark built, set up for genai with `threads`."""
    folder = WORK / ("h{hidden}-l{layers}".format(**SHAPE) + f"-{precision}")
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


def code_prompts(tokenizer_path: Path, lengths: tuple[int, ...], doc_tokens: int) -> tuple[dict, list, list]:
    """Prompts of exact token lengths from standard-library code, and a document with a
    one-character edit 100 characters before its end (re-tokenized, as an editor would)."""
    from lsp_server.engine.tokenizer import TextTokenizer

    tok = TextTokenizer(tokenizer_path)
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(Path(os.__file__).parent.glob("[a-c]*.py")))
    ids = tok.encode(text)
    doc_text = tok.decode(ids[:doc_tokens])
    cut = len(doc_text) - 100
    edited_text = doc_text[:cut] + "x" + doc_text[cut:]
    return {n: ids[:n] for n in lengths}, tok.encode(doc_text), tok.encode(edited_text)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(reps: int, quick: bool) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    shape = QUICK_SHAPE if quick else SHAPE
    threads = os.cpu_count() or 1
    models = build_models(shape)
    for precision in ("fp32", "int4"):
        set_genai_threads(models[precision], threads)
    lengths = (200, 2000) if not quick else (50, 200)
    new = 128 if not quick else 16
    prompts, doc, edited = code_prompts(models["fp32"] / "tokenizer.json", lengths, 1500 if not quick else 300)
    workers = [
        Worker("ours fp32", "ours", models["fp32"], threads),
        Worker("genai fp32", "genai", models["fp32"], threads),
        Worker("ours int4", "ours", models["int4"], threads),
        Worker("genai int4", "genai", models["int4"], threads),
        Worker("transformers fp32", "transformers", models["hf"], threads),
    ]
    if "optimum-fp32" in models:  # ours and optimum's ORTModelForCausalLM on the graph optimum exported
        workers += [Worker("ours optimum-graph fp32", "ours", models["optimum-fp32"], threads),
                    Worker("optimum fp32", "optimum", models["optimum-fp32"], threads, OPTIMUM_PYTHON)]
    samples: dict[str, dict[str, list[float]]] = {w.name: {} for w in workers}
    agree: dict[str, bool] = {}
    for rep in range(reps):
        # Each rep starts with the next runner: no runner always follows the same one (whose thread
        # pool may still be spinning down, whose pages the cache still holds).
        order = workers[rep % len(workers):] + workers[: rep % len(workers)]
        for n in lengths:
            for w in order:
                r = w.ask_raw({"op": "generate", "ids": prompts[n], "new": new})
                samples[w.name].setdefault(f"ttft_{n}", []).append(r["ttft_s"])
                samples[w.name].setdefault(f"decode_{n}", []).append(r["decode_tps"])
                agree.setdefault(f"{w.name} {n}", r["tokens"])
        for w in (w for w in workers if w.name in ("ours fp32", "ours int4")):
            r = w.ask_raw({"op": "reuse", "doc": doc, "edited": edited})
            for key in ("cold_ttft_s", "warm_ttft_s"):
                samples[w.name].setdefault(key, []).append(r[key])
            r = w.ask_raw({"op": "cancel", "ids": prompts[lengths[0]]})
            samples[w.name].setdefault("cancel_s", []).append(r["cancel_s"])
            samples[w.name].setdefault("step_s", []).append(r["step_s"])
        print(f"rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
    results = {name: {k: median(v) for k, v in s.items()} for name, s in samples.items()}
    for w in workers:
        results[w.name]["rss_mb"] = w.ask_raw({"op": "rss"})["rss_mb"]
        w.close()
    same = {
        f"{p} {n}": agree[f"ours {p} {n}"] == agree[f"genai {p} {n}"] for p in ("fp32", "int4") for n in lengths
    }
    if "optimum-fp32" in models:
        same.update({f"optimum graph {n} (ours vs optimum)": agree[f"ours optimum-graph fp32 {n}"] == agree[f"optimum fp32 {n}"]
                     for n in lengths})
    return {"shape": shape, "threads": threads, "reps": reps, "new_tokens": new, "lengths": list(lengths),
            "results": results, "ours_equals_genai_tokens": same,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d %H:%M")}


def main(argv: list[str] | None = None) -> int:
    from bench.report import write_report

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="tiny model, short prompts: checks the harness")
    p.add_argument("--out", type=Path, default=ROOT / "bench")
    args = p.parse_args(argv)
    data = run(args.reps, args.quick)
    write_report(data, args.out)
    print((args.out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

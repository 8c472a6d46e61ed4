"""bench/results/RESULTS.md holds one section per benchmark; each benchmark rewrites only its own."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from bench.lib.paths import RESULTS

HEADER = (
    "# Benchmark results\n\nEach section is written by the benchmark named in it; the JSON files beside this one "
    "hold the numbers.\n"
)


def write_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` between this section's markers in ``path``, replacing what was there, keeping the rest."""
    begin, end = f"<!-- section {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.is_file() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text.rstrip() + "\n", encoding="utf-8")


def publish(out: Path, name: str, data: object, rows: list[str], json_name: str | None = None) -> None:
    """A benchmark's results: its numbers as ``out``/<json_name or name>.json, its rows as section ``name`` of
    ``out``/RESULTS.md, and the rows printed."""
    (out / f"{json_name or name}.json").write_text(json.dumps(data, indent=2) + "\n")
    write_section(out / "RESULTS.md", name, "\n".join(rows))
    print("\n".join(rows))


def add_output_options(parser: argparse.ArgumentParser, name: str) -> None:
    """--name (the section of RESULTS.md, default ``name``; its JSON file is named alike) and --out (the folder)."""
    parser.add_argument("--name", default=name, help="the section of RESULTS.md (and the JSON file's name)")
    parser.add_argument("--out", type=Path, default=RESULTS)


def benchmark_parser(doc: str | None, name: str) -> argparse.ArgumentParser:
    """A benchmark's command line: described by its docstring's first line, with add_output_options' options."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    add_output_options(parser, name)
    return parser


def publish_run(args: argparse.Namespace, data: object, rows: list[str]) -> None:
    """publish() into the section and folder of add_output_options' options (the JSON file: the name, - as _)."""
    publish(args.out, args.name, data, rows, json_name=args.name.replace("-", "_"))

"""bench/results/RESULTS.md holds one section per benchmark; each benchmark rewrites only its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

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

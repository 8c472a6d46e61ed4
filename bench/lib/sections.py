"""bench/results/RESULTS.md holds one section per benchmark; each benchmark rewrites only its own."""

from __future__ import annotations

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

"""Documents the server benchmarks type into and open beside: real Python (the standard library's modules) at
any length."""

from __future__ import annotations

import textwrap
from pathlib import Path

STDLIB = Path(textwrap.__file__).parent
MIN_MODULE_LINES = 300  # a module shorter than this is not used as a document


def module_lines(count: int, module: Path = Path(textwrap.__file__)) -> list[str]:
    """``count`` lines (each with its line break) of a module (textwrap.py), repeated as often as it takes."""
    base = module.read_text(encoding="utf-8").splitlines(keepends=True)
    return [base[i % len(base)] for i in range(count)]


def other_modules(count: int) -> list[Path]:
    """``count`` standard-library modules (not textwrap.py) of at least MIN_MODULE_LINES lines, by name."""
    found = []
    for path in sorted(STDLIB.glob("[a-z]*.py")):
        if path.name != "textwrap.py" and path.read_text(encoding="utf-8").count("\n") >= MIN_MODULE_LINES:
            found.append(path)
        if len(found) == count:
            return found
    raise ValueError(f"the standard library has only {len(found)} modules of {MIN_MODULE_LINES}+ lines")

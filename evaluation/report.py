"""The eval's results: one row per case, pass@1 per mode, and the report (Markdown for people, JSON for tools)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

DETAIL_CHARS = 160


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    task_id: str
    mode: str  # "instruction", "single-line", "multi-line"
    status: str  # the test run's: passed | failed | timeout | crashed; or "error" (the request failed)
    detail: str  # why it did not pass (the test's last error line, or the server's error)
    answer: str  # what the pipeline produced: the code (instruction mode) or the inserted text (infill)
    expected: str  # the canonical text: the body (instruction mode) or the removed middle (infill)
    seconds: float  # the model's time for the case (request to answer)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class Run:
    """How the eval was run: for the report's header."""

    command: str
    backend: str
    model: str
    seed: int
    max_new_tokens: int
    seconds: float


def summary(results: Sequence[CaseResult]) -> dict[str, dict]:
    """Per mode: cases, passed, pass@1 (greedy: one sample per case) and the statuses of the others."""
    out: dict[str, dict] = {}
    for mode in dict.fromkeys(r.mode for r in results):
        rows = [r for r in results if r.mode == mode]
        passed = sum(r.passed for r in rows)
        statuses: dict[str, int] = {}
        for r in rows:
            if not r.passed:
                statuses[r.status] = statuses.get(r.status, 0) + 1
        out[mode] = {"cases": len(rows), "passed": passed, "pass_at_1": passed / len(rows), "not_passed": statuses}
    return out


def _cell(text: str, limit: int = DETAIL_CHARS) -> str:
    one = " ⏎ ".join(line for line in text.strip().split("\n"))
    one = one if len(one) <= limit else one[: limit - 1] + "…"
    return one.replace("|", "\\|") or "(empty)"


def markdown(run: Run, results: Sequence[CaseResult]) -> str:
    lines = [
        "# magicoder-eval report",
        "",
        f"`{run.command}`",
        "",
        f"Backend: {run.backend} ({run.model}); greedy; max new tokens {run.max_new_tokens}; seed {run.seed}; "
        f"{run.seconds:.0f} s.",
        "",
        "| mode | cases | passed | pass@1 |",
        "|---|---|---|---|",
    ]
    for mode, s in summary(results).items():
        lines.append(f"| {mode} | {s['cases']} | {s['passed']} | {s['pass_at_1'] * 100:.1f} % |")
    failed = [r for r in results if not r.passed]
    if failed:
        lines += ["", "## Not passed", "", "| case | status | why | answer | expected |", "|---|---|---|---|---|"]
        lines += [
            f"| {r.case_id} | {r.status} | {_cell(r.detail)} | `{_cell(r.answer)}` | `{_cell(r.expected)}` |"
            for r in failed
        ]
    return "\n".join(lines) + "\n"


def write_report(out: Path, run: Run, results: Sequence[CaseResult]) -> tuple[Path, Path]:
    """``out``/report.md and ``out``/results.json."""
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "report.md", out / "results.json"
    md.write_text(markdown(run, results), encoding="utf-8")
    data = {"run": asdict(run), "summary": summary(results), "results": [asdict(r) for r in results]}
    js.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return md, js

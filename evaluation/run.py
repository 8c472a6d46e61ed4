"""One eval run: answers generated one at a time (the model's order), their tests run in parallel meanwhile
(the executor's workers), a progress bar that moves as outcomes arrive."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from lsp_server.engine.api import InferenceEngine

from .backend import Backend
from .execution import Executor, Outcome
from .holes import InfillCase
from .infill import fill_all
from .instruct import ask_all
from .problems import Problem
from .report import CaseResult

INSTRUCTION_MODE = "instruction"


class Progress:
    """A bar over the cases (stderr), with the passed count so far."""

    def __init__(self, total: int, what: str, enabled: bool = True):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=what, unit="case", file=sys.stderr, disable=not enabled, dynamic_ncols=True)
        self.passed = 0
        self._lock = threading.Lock()

    def done(self, passed: bool) -> None:
        with self._lock:
            self.passed += passed
            self.bar.update(1)
            self.bar.set_postfix(passed=self.passed, refresh=False)

    def close(self) -> None:
        self.bar.close()


Pending = list[tuple[Callable[[Outcome], CaseResult], Future[Outcome]]]


def _submit(executor: Executor, program: str, progress: Progress) -> Future[Outcome]:
    future = executor.submit(program)
    future.add_done_callback(lambda f: progress.done(not f.exception() and f.result().passed))
    return future


def _collect(pending: Pending, done: list[CaseResult]) -> list[CaseResult]:
    return done + [make(future.result()) for make, future in pending]


def evaluate_instruction(
    engine: InferenceEngine, problems: list[Problem], executor: Executor, max_new_tokens: int, progress: Progress
) -> list[CaseResult]:
    pending: Pending = []
    for asked in ask_all(engine, problems, max_new_tokens):
        p = asked.problem

        def make(outcome: Outcome, asked=asked, p=p) -> CaseResult:
            head = p.prompt.strip()  # shown: the code after the problem's own lines
            body = asked.code[len(head) :] if asked.code.startswith(head) else asked.code
            return CaseResult(
                p.task_id, p.task_id, INSTRUCTION_MODE, outcome.status, outcome.detail, body,
                p.canonical_solution, asked.seconds,
            )  # fmt: skip

        pending.append((make, _submit(executor, p.program(asked.code), progress)))
    return _collect(pending, [])


def evaluate_infill(
    backend: Backend,
    cases: list[InfillCase],
    executor: Executor,
    max_new_tokens: int,
    log_file: Path,
    progress: Progress,
) -> list[CaseResult]:
    pending: Pending = []
    failed: list[CaseResult] = []  # requests the server answered with an error: nothing to test
    for filled in fill_all(backend, cases, max_new_tokens, log_file):
        c = filled.case

        def make(outcome: Outcome, filled=filled, c=c) -> CaseResult:
            return CaseResult(
                c.case_id, c.problem.task_id, c.mode, outcome.status, outcome.detail, filled.completion, c.middle,
                filled.seconds,
            )  # fmt: skip

        if filled.error:
            failed.append(make(Outcome("error", filled.error, 0.0)))
            progress.done(False)
            continue
        pending.append((make, _submit(executor, c.problem.program(filled.document), progress)))
    results = _collect(pending, failed)
    order = {c.case_id: i for i, c in enumerate(cases)}
    return sorted(results, key=lambda r: order[r.case_id])

"""Instruction mode: each HumanEval problem asked as Magicoder's own evaluation asks it, answered by the engine the
server would use, and cut by the server's own Ask post-processing.

The prompt is exactly that of ise-uiuc/magicoder's evaluation, experiments/text2code.py (``map_humaneval_problem``,
with ``MAGICODER_PROMPT`` from src/magicoder/prompt_template.py): the instruction quotes the stripped problem in
a fenced block, and the response is primed with the opening fence and the same stripped problem, so the model
continues with the function's body. Greedy. Where that script cuts the completion at the first "```", the
server's Ask post-processing (the closing-fence stop string, then ``answer_to_code``) cuts it here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lsp_server.assist import ASK_STOPS, AskPlan, answer_to_code
from lsp_server.engine.api import InferenceEngine
from lsp_server.prompts import fill_template, prime_response

from .problems import Problem

INSTRUCTION = "Write a solution to the following problem:\n```python\n{prompt}\n```"
DEFAULT_MAX_NEW_TOKENS = 512


@dataclass(frozen=True)
class Asked:
    problem: Problem
    answer: str  # the model's text after the primed response
    code: str  # the module the post-processing made of it
    finish: str  # the engine's finish reason
    seconds: float


def instruction(problem: Problem) -> str:
    return INSTRUCTION.format(prompt=problem.prompt.strip())


def prompt_for(problem: Problem, template: str) -> str:
    """Magicoder's template around the instruction, the response primed with the fence and the problem."""
    return fill_template(template, instruction(problem)) + prime_response("python") + problem.prompt.strip()


def code_of(problem: Problem, answer: str) -> str:
    """The server's Ask post-processing of the primed response: the code up to the closing fence, at top level."""
    plan = AskPlan(request=instruction(problem), start_line=0, end_line=0, code=problem.prompt, indent="")
    return answer_to_code(problem.prompt.strip() + answer, plan)


def ask_all(engine: InferenceEngine, problems: list[Problem], max_new_tokens: int) -> Iterator[Asked]:
    """Each problem's answer, one generation at a time (the engine's own rule), greedy."""
    template = engine.prompt_format.template
    for problem in problems:
        result = engine.complete(prompt_for(problem, template), max_new_tokens, ASK_STOPS)
        seconds = result.ttft_s + result.decode_s
        yield Asked(problem, result.text, code_of(problem, result.text), result.finish_reason, seconds)

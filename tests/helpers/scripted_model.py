"""A scripted Magicoder for the quality eval: it answers each HumanEval prompt with the known right text,
then what real models add after it, so that the eval measures only what our prompts and clean-up lose.

Two kinds of prompt (the ones magicoder-eval sends; anything else gets "" and is recorded in ``unmatched``):

* instruction: Magicoder's own evaluation (experiments/text2code.py), the response primed with a fence and the
  problem's stripped prompt. The right text is "\\n" + the canonical solution; after it the model closes the fence
  ("fence"), then writes prose about the function ("prose"), or prose and a second block with example usage
  ("example").
* infill: FIM_BEGIN [header] prefix part FIM_HOLE suffix part FIM_END, the parts a tail of a case's prefix and a
  head of its suffix (evaluation/holes.py, same seed). The right text is the case's middle; after it the model
  stops ("none"), goes on with the suffix's next one to three lines ("rest"; the next function when the hole
  ends the function), starts a new top-level function (the next problem's) after a blank line or two ("next"),
  or repeats the middle's last line or the whole middle one to three times ("repeat").

Each case's behaviour is drawn once, from a generator seeded with (seed, case): infill none 30 %, rest 30 %,
next 20 %, repeat 20 %; instruction fence 20 %, prose 50 %, example 30 %. ``extras`` forces one behaviour in
the modes that have it ("none": both), the other mode keeps its mix.

Run alone for the benchmark: ``python -m tests.helpers.scripted_model --port P [--seed 0] [--extras mixed]
[--log F]``: it prints its base URL, then serves until killed; F gets FakeOpenAI's line per request and a
line {"unmatched": prompt} for each prompt it could not place. Tokens approximate DeepSeek-Coder's (about 2.9
characters each on HumanEval's solutions, the real tokenizer 2.8), one per event, no delay.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from evaluation.holes import MODES, InfillCase, infill_cases
from evaluation.problems import Problem, load_problems
from lsp_server.magicoder import FIM_BEGIN, FIM_END, FIM_HOLE, MAX_POSITIONS
from tests.helpers.openai_fake import FakeOpenAI

MODEL = "magicoder-scripted"
INFILL = {"none": 3, "rest": 3, "next": 2, "repeat": 2}  # behaviour: weight in the mix
INSTRUCTION = {"fence": 2, "prose": 5, "example": 3}
EXTRAS = ("mixed", *INFILL, *INSTRUCTION)
RESPONSE = "@@ Response\n"
# Newlines, indentation but its last space, a word or one or two symbols with the space before them, a digit.
TOKEN = re.compile(r"\n|[ \t]{1,15}(?=[ \t])| ?[A-Za-z_]{1,10}| ?[^\w\s]{1,2}|\d|[ \t]+|.", re.S)


def tokens(text: str) -> list[str]:
    """The text in pieces about the size of DeepSeek-Coder's tokens (joined, they are the text)."""
    return TOKEN.findall(text)


def last_code_line(text: str) -> str | None:
    """The last whole line of ``text`` that is not blank (the key cases are indexed by); None when there is
    none, or it is the first line (the part may have been cut inside it)."""
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        if text[start:end].strip():
            return text[start:end] if start > 0 else None
        end = start - 1
    return None


def common_tail(a: str, b: str) -> int:
    """How many characters ``a`` and ``b`` end with alike."""
    if a.endswith(b) or b.endswith(a):
        return min(len(a), len(b))
    size = 0
    while size < min(len(a), len(b)) and a[-size - 1] == b[-size - 1]:
        size += 1
    return size


class ScriptedModel:
    def __init__(self, seed: int = 0, extras: str = "mixed", problems: Sequence[Problem] | None = None, port: int = 0):
        if extras not in EXTRAS:
            raise ValueError(f"unknown extras {extras!r}: one of {', '.join(EXTRAS)}")
        self.seed, self.extras, self.port = seed, extras, port
        self.problems = list(problems) if problems is not None else load_problems()
        self.cases = infill_cases(self.problems, MODES, seed)
        self.unmatched: list[str] = []
        self.log: Path | None = None
        self.server: FakeOpenAI | None = None
        self._by_prompt = {problem.prompt.strip(): problem for problem in self.problems}
        self._by_line: defaultdict[str | None, list[InfillCase]] = defaultdict(list)
        for case in self.cases:
            self._by_line[last_code_line(case.prefix)].append(case)
        self._next_function: dict[str, str] = {}
        for problem, following in zip(self.problems, self.problems[1:] + self.problems[:1], strict=True):
            code = following.prompt + following.canonical_solution
            found = re.search(r"^def ", code, re.M)
            self._next_function[problem.task_id] = code[found.start() :] if found else "def main():\n    pass\n"

    # -- answers ------------------------------------------------------------------------------------
    def answer(self, prompt: str) -> str:
        """The right text and the extras for the case or problem ``prompt`` asks about; "" when none."""
        begin, hole, end = prompt.find(FIM_BEGIN), prompt.find(FIM_HOLE), prompt.rfind(FIM_END)
        if 0 <= begin < hole < end:
            case = self.find(prompt[begin + len(FIM_BEGIN) : hole], prompt[hole + len(FIM_HOLE) : end])
            if case is not None:
                return case.middle + self.infill_extra(case, self.behaviour(case))
        elif RESPONSE in prompt:
            response = prompt.rpartition(RESPONSE)[2]
            if response.startswith("```"):
                response = response.partition("\n")[2]
            problem = self._by_prompt.get(response)
            if problem is not None:
                return self.right_body(problem) + self.instruction_extra(problem, self.behaviour(problem))
        self._unmatched(prompt)
        return ""

    def find(self, prefix_part: str, suffix_part: str) -> InfillCase | None:
        """The case whose prefix ends with ``prefix_part``, or with its end after a header (the prefix whole, or
        cut at a line start), and whose suffix starts with ``suffix_part`` (or is its start); where several fit,
        the longest match, then the one that leaves least of its text out (a cut keeps what its budget allows)."""
        key = last_code_line(prefix_part)
        best, longest = None, (-1, 0)
        for case in self._by_line.get(key, []) if key is not None else self.cases:
            common = common_tail(case.prefix, prefix_part)
            if common < len(prefix_part) and common < len(case.prefix):  # a header, then a cut: from a line start
                tail = case.prefix[len(case.prefix) - common :]
                tail = tail if case.prefix[-common - 1] == "\n" else tail.partition("\n")[2]
                if not tail.strip():
                    continue
                common = len(tail)
            if not (case.suffix.startswith(suffix_part) or suffix_part.startswith(case.suffix)):
                continue
            matched = common + min(len(suffix_part), len(case.suffix))
            left_out = len(case.prefix) - common + max(0, len(case.suffix) - len(suffix_part))
            score = (matched, -left_out)
            if score > longest:
                best, longest = case, score
        return best

    def behaviour(self, item: InfillCase | Problem) -> str:
        """What the model adds after the right text for this case (infill) or problem (instruction)."""
        mix = INFILL if isinstance(item, InfillCase) else INSTRUCTION
        if self.extras in mix or self.extras == "none":
            return self.extras
        key = item.case_id if isinstance(item, InfillCase) else f"{item.task_id} instruction"
        return random.Random(f"{self.seed}:{key}").choices(list(mix), list(mix.values()))[0]

    @staticmethod
    def right_body(problem: Problem) -> str:
        return "\n" + problem.canonical_solution

    def infill_extra(self, case: InfillCase, kind: str) -> str:
        rng = random.Random(f"{self.seed}:{case.case_id}:{kind}")
        rest = case.suffix.lstrip("\n")
        if kind == "rest" and rest.strip():
            return "\n" + "\n".join(rest.split("\n")[: rng.randint(1, 3)])
        if kind in ("rest", "next"):  # the hole ends the function: what comes next is another one
            return "\n" * rng.choice((2, 3)) + self._next_function[case.problem.task_id]
        if kind == "repeat":
            indent = case.prefix[case.prefix.rfind("\n") + 1 :]
            lines = (indent + case.middle).split("\n")
            again = lines[-1:] if rng.random() < 0.5 else lines
            return "\n" + "\n".join(again * rng.randint(1, 3))
        return ""

    def instruction_extra(self, problem: Problem, kind: str) -> str:
        if kind == "none":
            return ""
        fence = "```" if self.right_body(problem).endswith("\n") else "\n```"
        if kind == "fence":
            return fence
        prose = (
            f"{fence}\n\nThis function `{problem.entry_point}` solves the problem as its docstring describes: "
            "it goes through the input once and returns the result.\n"
        )
        if kind == "prose":
            return prose
        calls = re.findall(rf"^\s*>>> ({re.escape(problem.entry_point)}\(.*\))\s*$", problem.prompt, re.M)
        usage = "\n".join(f"print({call})" for call in calls[:2]) or f"help({problem.entry_point})"
        return f"{prose}\nYou can use it like this:\n\n```python\n{usage}\n```\n"

    def _unmatched(self, prompt: str) -> None:
        self.unmatched.append(prompt)
        if self.log is not None:
            with self.log.open("a") as out:
                out.write(json.dumps({"unmatched": prompt}) + "\n")

    # -- the server ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None, "start the server first: with ScriptedModel() as model"
        return self.server.url

    def __enter__(self) -> ScriptedModel:
        self.server = FakeOpenAI(answer=self.answer, port=self.port)
        self.server.split = tokens
        self.server.models = [{"id": MODEL, "object": "model", "max_model_len": MAX_POSITIONS}]
        self.server.log = self.log
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.__exit__(*exc)


def main() -> None:
    parser = argparse.ArgumentParser(description="A scripted Magicoder (OpenAI-compatible) for magicoder-eval")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="the eval's seed: the same infilling holes")
    parser.add_argument("--extras", choices=EXTRAS, default="mixed", help="what it adds after the right text")
    parser.add_argument("--log", type=Path, help="one JSON line per request, and one per unmatched prompt")
    args = parser.parse_args()
    model = ScriptedModel(seed=args.seed, extras=args.extras, port=args.port)
    model.log = args.log
    with model:
        print(model.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

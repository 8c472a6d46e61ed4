"""The scripted model the quality eval measures our pipeline with: it places each prompt, answers the right text
first, adds what real models add, and its server ends a stream like vLLM's at stop strings and max_tokens."""

from __future__ import annotations

import json
import re
from collections import Counter

import httpx
import pytest

from evaluation.holes import MULTI_LINE, SINGLE_LINE, InfillCase
from evaluation.problems import Problem
from lsp_server.fit import TokenMeasure
from lsp_server.magicoder import FIM_BEGIN, FIM_END, FIM_HOLE, MAGICODER_PROMPT_TEMPLATE
from lsp_server.prompts import FimTokens, build_fim_prompt
from tests.helpers.scripted_model import INFILL, INSTRUCTION, ScriptedModel, tokens

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def model() -> ScriptedModel:
    return ScriptedModel()


def instruction_prompt(problem: Problem) -> str:
    """Magicoder's own HumanEval prompt (experiments/text2code.py), the response primed with the function."""
    code = problem.prompt.strip()
    request = f"Write a solution to the following problem:\n```python\n{code}\n```"
    return MAGICODER_PROMPT_TEMPLATE.format(instruction=request) + "```python\n" + code


def fim(prefix: str, suffix: str) -> str:
    return f"{FIM_BEGIN}{prefix}{FIM_HOLE}{suffix}{FIM_END}"


def case_of(model: ScriptedModel, mode: str, rest: bool = True) -> InfillCase:
    """A case in ``mode`` with code after its hole (or none, when not ``rest``)."""
    return next(c for c in model.cases if c.mode == mode and bool(c.suffix.strip()) == rest)


def test_every_prompt_in_both_modes_is_answered_right_first(model: ScriptedModel):
    for problem in model.problems:
        assert model.answer(instruction_prompt(problem)).startswith("\n" + problem.canonical_solution)
    for case in model.cases:
        assert model.answer(fim(case.prefix, case.suffix)).startswith(case.middle), case.case_id
    assert model.unmatched == []


def test_the_mix_has_every_behaviour_in_about_its_share(model: ScriptedModel):
    infill = Counter(model.behaviour(case) for case in model.cases)
    instruction = Counter(model.behaviour(problem) for problem in model.problems)
    for seen, mix, total in ((infill, INFILL, len(model.cases)), (instruction, INSTRUCTION, len(model.problems))):
        assert set(seen) == set(mix)
        for kind, weight in mix.items():
            assert abs(seen[kind] / total - weight / sum(mix.values())) < 0.1, (kind, seen)
    assert model.behaviour(model.cases[0]) == ScriptedModel().behaviour(model.cases[0])  # deterministic


@pytest.mark.parametrize("mode", [SINGLE_LINE, MULTI_LINE])
def test_each_infill_behaviour_adds_its_extra(mode: str):
    answers = {kind: ScriptedModel(extras=kind) for kind in INFILL}
    case = case_of(answers["none"], mode)
    extra = {kind: m.answer(fim(case.prefix, case.suffix)).removeprefix(case.middle) for kind, m in answers.items()}
    assert extra["none"] == ""
    rest = "\n" + case.suffix.lstrip("\n")
    assert extra["rest"] and rest.startswith(extra["rest"]) and extra["rest"].count("\n") <= 3
    assert re.match(r"\n\n\n?def \w+\(", extra["next"])
    indent = case.prefix[case.prefix.rfind("\n") + 1 :]
    middle_lines = (indent + case.middle).split("\n")
    repeated = extra["repeat"].split("\n")
    assert repeated[0] == "" and len(repeated) > 1 and set(repeated[1:]) <= set(middle_lines)


def test_a_hole_that_ends_the_function_goes_on_with_the_next_one():
    model = ScriptedModel(extras="rest")
    case = case_of(model, MULTI_LINE, rest=False)
    assert re.match(r"\n\n\n?def \w+\(", model.answer(fim(case.prefix, case.suffix)).removeprefix(case.middle))


def test_each_instruction_behaviour_closes_the_fence_then_adds_its_extra():
    problem = ScriptedModel().problems[0]
    right = "\n" + problem.canonical_solution
    extra = {kind: ScriptedModel(extras=kind).answer(instruction_prompt(problem)) for kind in (*INSTRUCTION, "none")}
    assert all(answer.startswith(right) for answer in extra.values())
    extra = {kind: answer.removeprefix(right) for kind, answer in extra.items()}
    assert extra["none"] == "" and extra["fence"] == "```"
    assert extra["prose"].startswith("```\n\nThis function") and "```python" not in extra["prose"]
    usage = f"```python\nprint({problem.entry_point}("
    assert extra["example"].startswith(extra["prose"]) and usage in extra["example"]
    assert ScriptedModel(extras="repeat").behaviour(problem) in INSTRUCTION  # an infill-only choice: the mix


def test_cut_parts_and_a_header_still_find_their_case(model: ScriptedModel):
    for case in model.cases[::7]:
        prefix_tail = "\n".join(case.prefix.split("\n")[-5:])[2:]  # a tail: five lines less two characters
        assert model.answer(fim(prefix_tail, case.suffix[:12])).startswith(case.middle)
        header = "# snippet from other.py\nx = 1\n"
        assert model.answer(fim(header + case.prefix, case.suffix)).startswith(case.middle)
        assert model.answer(fim(header + prefix_tail.partition("\n")[2], case.suffix)).startswith(case.middle)
        measure = TokenMeasure(count=lambda text: len(tokens(text)))
        cut = build_fim_prompt(case.prefix, case.suffix, FimTokens(), measure, budget=60)
        assert len(cut) < len(fim(case.prefix, case.suffix)) and model.answer(cut).startswith(case.middle)
    assert model.unmatched == []


def test_a_prompt_it_cannot_place_gets_nothing_and_is_recorded():
    model = ScriptedModel()
    foreign = fim("def elsewhere():\n    ", "\n    return 1\n")
    assert model.answer("hello") == "" and model.answer(foreign) == ""
    assert model.answer(MAGICODER_PROMPT_TEMPLATE.format(instruction="hi") + "```python\ndef f():") == ""
    assert len(model.unmatched) == 3 and model.unmatched[1] == foreign


def stream(url: str, **body: object) -> tuple[str, list[str], list[str | None]]:
    """The streamed text, each event's text and each event's finish_reason."""
    texts, finishes = [], []
    with httpx.stream("POST", f"{url}/completions", json={"model": "m", "stream": True, **body}) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                (choice,) = json.loads(line[len("data: ") :])["choices"]
                texts.append(choice["text"])
                finishes.append(choice["finish_reason"])
    return "".join(texts), texts, finishes


def test_over_http_a_stream_ends_at_a_stop_string_or_max_tokens_like_a_real_server():
    with ScriptedModel(extras="prose") as model:
        problem = model.problems[0]
        prompt, right = instruction_prompt(problem), "\n" + problem.canonical_solution
        text, pieces, finishes = stream(model.url, prompt=prompt, max_tokens=512, stop=["\n```", "<|EOT|>"])
        assert text == right.removesuffix("\n") and finishes[-1] == "stop" and set(finishes[:-1]) == {None}
        assert 1 < len(pieces) and max(map(len, pieces)) <= 16  # about a token an event
        text, pieces, finishes = stream(model.url, prompt=prompt, max_tokens=5)
        assert len(pieces) == 5 and right.startswith(text) and finishes[-1] == "length"
        everything = model.answer(prompt)
        text, pieces, finishes = stream(model.url, prompt=prompt, max_tokens=len(tokens(everything)) + 1)
        assert text == everything and finishes[-1] == "stop"
        text, pieces, finishes = stream(model.url, prompt="nothing like it", max_tokens=16)
        assert (text, finishes) == ("", ["stop"]) and model.unmatched[-1] == "nothing like it"
        assert model.server is not None and model.server.models[0]["max_model_len"] == 16384

"""magicoder-eval: the holes it cuts, Magicoder's own evaluation prompt, the Ask post-processing of its answers,
and whole runs of the console script against the scripted model (the pipeline's ceiling, over the remote backend
and a real magicoder-lsp) and the tiny model (local, a smoke run); bad arguments get clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.cli import main
from evaluation.execution import run_program
from evaluation.holes import MODES, MULTI_LINE, SINGLE_LINE, has_block, infill_case, infill_cases
from evaluation.instruct import code_of, prompt_for
from evaluation.problems import load_problems
from lsp_server.magicoder import MAGICODER_PROMPT_TEMPLATE
from tests.helpers.scripted_model import ScriptedModel

PROBLEMS = load_problems()
TARGETS = {"instruction": 1.0, SINGLE_LINE: 0.99, MULTI_LINE: 0.97}


def test_humaneval_is_the_164_problems_in_order():
    assert len(PROBLEMS) == 164
    assert [p.task_id for p in PROBLEMS[:2]] == ["HumanEval/0", "HumanEval/1"]
    assert load_problems(3) == PROBLEMS[:3]


def test_each_hole_cuts_the_canonical_solution_and_the_cursor_stands_in_it():
    for case in infill_cases(PROBLEMS):
        whole = case.problem.prompt + case.problem.canonical_solution
        assert case.prefix + case.middle + case.suffix == whole, case.case_id
        assert case.middle.strip() and case.suffix.startswith("\n")
        line, character = case.cursor
        assert case.document.split("\n")[line][:character] == case.prefix.split("\n")[-1]
        lines = case.middle.count("\n") + 1
        assert lines == 1 if case.mode == SINGLE_LINE else lines >= 2, case.case_id


def test_a_one_line_solution_has_no_multi_line_hole():
    one_line = [p for p in PROBLEMS if not has_block(p)]
    assert len(one_line) == 37  # e.g. HumanEval/2: return number % 1.0
    with pytest.raises(ValueError, match="has one line"):
        infill_case(one_line[0], MULTI_LINE)
    assert len(infill_cases(PROBLEMS)) == 164 + 164 - 37


def test_holes_are_chosen_by_the_seed():
    again = infill_cases(PROBLEMS, MODES, seed=0)
    assert [c.case_id for c in infill_cases(PROBLEMS)] == [c.case_id for c in again]
    other = [infill_case(p, MULTI_LINE, seed=1).case_id for p in PROBLEMS if has_block(p)]
    assert other != [c.case_id for c in again if c.mode == MULTI_LINE]


def test_the_instruction_prompt_is_magicoder_s_own_evaluation_prompt():
    problem = PROBLEMS[2]
    stripped = problem.prompt.strip()
    # ise-uiuc/magicoder experiments/text2code.py: MAGICODER_PROMPT.format(instruction=..., response=prefix)
    expected = (
        "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
        "responses to user instructions.\n\n@@ Instruction\nWrite a solution to the following problem:\n"
        f"```python\n{stripped}\n```\n\n@@ Response\n```python\n{stripped}"
    )
    assert prompt_for(problem, MAGICODER_PROMPT_TEMPLATE) == expected


def test_the_ask_post_processing_cuts_the_answer_at_the_closing_fence():
    problem = PROBLEMS[2]
    answer = "\n" + problem.canonical_solution + "```\n\nThis returns the decimal part.\n```python\nprint(1)\n```"
    code = code_of(problem, answer)
    assert code.startswith(problem.prompt.strip()) and "This returns" not in code and "print(1)" not in code
    assert run_program(problem.program(code)).passed
    assert not run_program(problem.program(code_of(problem, "\n    return 0.5\n```"))).passed


def summary_of(out: Path) -> dict:
    data = json.loads((out / "results.json").read_text())
    assert (out / "report.md").read_text().startswith("# magicoder-eval report")
    return data["summary"]


def test_against_the_scripted_model_the_pipeline_loses_nothing(tiny_model: Path, tmp_path: Path):
    """All 164 problems in each mode, through the remote backend (and a real magicoder-lsp for infill)."""
    with ScriptedModel(seed=0) as scripted:
        remote = ["--endpoint", scripted.url, "--tokenizer", str(tiny_model / "tokenizer.json"), "--no-progress"]
        assert main(["humaneval", *remote, "--out", str(tmp_path / "h")]) == 0
        assert main(["infill", *remote, "--out", str(tmp_path / "i")]) == 0
        assert scripted.unmatched == []
    found = {**summary_of(tmp_path / "h"), **summary_of(tmp_path / "i")}
    assert {mode: s["cases"] for mode, s in found.items()} == {"instruction": 164, SINGLE_LINE: 164, MULTI_LINE: 127}
    for mode, target in TARGETS.items():
        assert found[mode]["pass_at_1"] >= target, (mode, found[mode])


@pytest.mark.parametrize("extras", ["rest", "next", "repeat"])
def test_every_case_survives_each_thing_models_add_after_the_middle(tiny_model: Path, tmp_path: Path, extras: str):
    """The scripted model adds the same extra to every case (the mixed run above draws one per case)."""
    with ScriptedModel(seed=0, extras=extras) as scripted:
        remote = ["--endpoint", scripted.url, "--tokenizer", str(tiny_model / "tokenizer.json"), "--no-progress"]
        assert main(["infill", *remote, "--limit", "60", "--out", str(tmp_path)]) == 0
    for mode, s in summary_of(tmp_path).items():
        assert s["passed"] == s["cases"], (extras, mode, s)


def test_a_local_model_run_completes(tiny_model: Path, tmp_path: Path):
    """The tiny model (random weights) through the local engine: every case answered and tested, none failed
    for want of an answer."""
    local = ["--model", str(tiny_model), "--limit", "3", "--max-new-tokens", "16", "--no-progress"]
    assert main(["humaneval", *local, "--out", str(tmp_path / "h")]) == 0
    assert main(["infill", *local, "--out", str(tmp_path / "i")]) == 0
    found = {**summary_of(tmp_path / "h"), **summary_of(tmp_path / "i")}
    assert {mode: s["cases"] for mode, s in found.items()} == {"instruction": 3, SINGLE_LINE: 3, MULTI_LINE: 2}
    assert all("error" not in s["not_passed"] for s in found.values()), found


def test_bad_arguments_get_clear_errors(tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["humaneval", "--model", str(tmp_path), "--endpoint", "http://127.0.0.1:9/v1"])
    assert exited.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="does not exist"):
        main(["humaneval", "--model", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--no-progress"])
    nowhere = ["--endpoint", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "o"), "--no-progress"]
    with pytest.raises(SystemExit, match="--tokenizer"):
        main(["humaneval", *nowhere])
    tokenizer = ["--tokenizer", str(tiny_model / "tokenizer.json")]
    with pytest.raises(SystemExit, match=r"127\.0\.0\.1:9"):
        main(["humaneval", *nowhere, *tokenizer])  # nothing listens there
    with pytest.raises(SystemExit, match=r"could not serve endpoint http://127\.0\.0\.1:9"):
        main(["infill", *nowhere, *tokenizer])

"""The Ask Magicoder actions' instructions (in Magicoder's format) and where tests go per language."""

from __future__ import annotations

from pathlib import PurePosixPath as P

import pytest

from lsp_server.assist import AskPlan, ask_prompt, explain_prompt
from lsp_server.prompts import MAGICODER_PROMPT_TEMPLATE
from lsp_server.tasks import (
    docstring_request,
    explain_request,
    fix_request,
    fix_title,
    one_line,
    unit_tests_request,
)
from lsp_server.testfiles import is_test_file, path_for_tests

PLAN = AskPlan("ignored", 3, 4, "    def f(self):\n        return 1", "    ")


def test_fix_instruction_names_the_checker_line_and_message():
    assert (
        fix_request("undefined  name\n'x'", "pyflakes", 2)
        == "Fix the following code. pyflakes reports on line 3: undefined name 'x'"
    )
    assert fix_request("boom", None, 0).startswith("Fix the following code. A checker reports on line 1: boom")
    assert fix_title("x" * 200).startswith("Ask Magicoder: fix xxx") and len(fix_title("x" * 200)) <= 80
    assert one_line("\n\n  first  \nsecond") == "first"


def test_instructions_follow_magicoders_format():
    plan = AskPlan(docstring_request("python"), 3, 4, PLAN.code, PLAN.indent)
    prompt = ask_prompt(plan, MAGICODER_PROMPT_TEMPLATE, "python")
    instruction = f"{docstring_request('python')}\n\n```python\ndef f(self):\n    return 1\n```"
    assert prompt == MAGICODER_PROMPT_TEMPLATE.replace("{instruction}", instruction) + "```python\n"
    explain = explain_prompt(
        AskPlan(explain_request(), 3, 4, PLAN.code, PLAN.indent), MAGICODER_PROMPT_TEMPLATE, "rust"
    )
    assert explain.endswith("```rust\ndef f(self):\n    return 1\n```\n\n@@ Response\n")  # prose: no primed fence


@pytest.mark.parametrize(
    "language, words",
    [
        ("python", "docstrings"),
        ("typescript", "JSDoc"),
        ("rust", "rustdoc"),
        ("java", "Javadoc"),
        ("cobol", "documentation comments"),
    ],
)
def test_docstring_request_per_language(language, words):
    assert words in docstring_request(language)


def test_tests_request_names_the_framework_and_module():
    assert unit_tests_request("python", "geometry") == (
        "Write unit tests with pytest for the following code, covering normal and edge cases. "
        "The code is in the module `geometry`: import what the tests need from it."
    )
    assert "Jest" in unit_tests_request("typescriptreact", None) and "module" not in unit_tests_request("go", None)


@pytest.mark.parametrize(
    "source, language, existing, target",
    [
        ("/p/pkg/geo.py", "python", set(), "/p/pkg/test_geo.py"),
        ("/p/pkg/geo.py", "python", {"/p/tests"}, "/p/tests/test_geo.py"),
        ("/p/src/app/util.ts", "typescript", set(), "/p/src/app/util.test.ts"),
        ("/p/web/App.jsx", "javascriptreact", set(), "/p/web/App.test.jsx"),
        ("/p/server/handler.go", "go", set(), "/p/server/handler_test.go"),
        ("/p/crate/src/lib.rs", "rust", {"/p/crate/Cargo.toml"}, "/p/crate/tests/lib.rs"),
        ("/p/src/main/java/org/x/Calc.java", "java", set(), "/p/src/test/java/org/x/CalcTest.java"),
        ("/p/Calc.cs", "csharp", set(), "/p/CalcTests.cs"),
        ("/p/lib/calc.rb", "ruby", set(), "/p/lib/calc_spec.rb"),
        ("/p/calc.c", "c", set(), "/p/test_calc.c"),
    ],
)
def test_path_for_tests(source, language, existing, target):
    assert path_for_tests(P(source), language, lambda p: str(p) in existing) == P(target)


@pytest.mark.parametrize(
    "path, is_test",
    [
        ("/p/test_geo.py", True),
        ("/p/geo_test.go", True),
        ("/p/util.test.ts", True),
        ("/p/CalcTest.java", True),
        ("/p/tests/conftest.py", True),
        ("/p/geo.py", False),
        ("/p/contest.py", False),
        ("/p/latest.ts", False),
    ],
)
def test_is_test_file(path, is_test):
    assert is_test_file(P(path)) is is_test

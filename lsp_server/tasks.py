"""The Ask Magicoder actions and the request text each one puts in Magicoder's instruction (pure)."""

from __future__ import annotations

ASK = "ask"  # the instruction comment, or the user's free text
FIX = "fix"  # a diagnostic's message
EXPLAIN = "explain"  # the answer is text for the user, not an edit
DOCSTRING = "docstring"
TESTS = "tests"  # the answer goes into a test file
TASKS = (ASK, FIX, EXPLAIN, DOCSTRING, TESTS)
TITLE = "Ask Magicoder"
TITLES = {
    EXPLAIN: f"{TITLE}: explain this code",
    DOCSTRING: f"{TITLE}: add docstring",
    TESTS: f"{TITLE}: write tests",
}
MAX_TITLE_CHARS = 80

_JS = ("javascript", "javascriptreact", "typescript", "typescriptreact")
DOC_COMMENTS = {
    "python": "docstrings",
    **dict.fromkeys(_JS, "JSDoc comments"),
    "java": "Javadoc comments",
    "kotlin": "KDoc comments",
    "scala": "Scaladoc comments",
    "rust": "rustdoc (///) comments",
    "go": "Go doc comments",
    "c": "Doxygen comments",
    "cpp": "Doxygen comments",
    "csharp": "XML documentation comments",
    "php": "PHPDoc comments",
    "ruby": "YARD comments",
    "lua": "LuaDoc comments",
    "swift": "Swift documentation comments",
    "dart": "/// doc comments",
    "elixir": "@doc attributes",
}
TEST_FRAMEWORKS = {
    "python": "pytest",
    **dict.fromkeys(_JS, "Jest"),
    "go": "the standard testing package",
    "rust": "Rust's built-in #[test] functions",
    "java": "JUnit 5",
    "kotlin": "JUnit 5",
    "scala": "ScalaTest",
    "csharp": "xUnit",
    "php": "PHPUnit",
    "ruby": "RSpec",
    "cpp": "GoogleTest",
    "c": "assert.h",
    "swift": "XCTest",
    "dart": "package:test",
    "elixir": "ExUnit",
    "lua": "busted",
    "shellscript": "bats",
}


def one_line(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """The first non-blank line of text, shortened to ``limit`` characters."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def fix_title(message: str) -> str:
    return f"{TITLE}: fix {one_line(message, MAX_TITLE_CHARS - len(TITLE) - 6)}"


def fix_request(message: str, source: str | None, line_in_code: int) -> str:
    """Fix the code: what the checker reported, and on which line of the code block."""
    who = source.strip() if source and source.strip() else "A checker"
    message = " ".join(message.split())
    return f"Fix the following code. {who} reports on line {line_in_code + 1}: {message}"


def explain_request() -> str:
    return "Explain what the following code does: its purpose, how it works, and anything surprising."


def docstring_request(language_id: str) -> str:
    kind = DOC_COMMENTS.get(language_id, "documentation comments")
    return (
        f"Add {kind} to the following code, documenting what each function or class does, its "
        "parameters and its return value. Keep the code itself unchanged and return all of it."
    )


def unit_tests_request(language_id: str, module: str | None) -> str:
    framework = TEST_FRAMEWORKS.get(language_id, "the language's usual test framework")
    where = f" The code is in the module `{module}`: import what the tests need from it." if module else ""
    return f"Write unit tests with {framework} for the following code, covering normal and edge cases.{where}"

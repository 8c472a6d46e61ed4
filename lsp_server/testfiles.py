"""Where "Write tests" puts the tests of a source file, per language's conventions (pure; ``exists`` is injected)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePath

Exists = Callable[[PurePath], bool]
_TEST_NAME = re.compile(r"(^test_|_test$|^test$|\.test$|\.spec$|_spec$|Tests?$)")
SEARCH_LEVELS = 3  # how many folders up a python project's tests/ folder is looked for
_JS_EXTENSIONS = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".cts")


def is_test_file(path: PurePath) -> bool:
    return bool(_TEST_NAME.search(path.stem)) or ("tests" in path.parts[:-1] and path.suffix == ".py")


def _find_up(folder: PurePath, marker: str, exists: Exists) -> PurePath | None:
    """The nearest of ``folder`` and its parents (SEARCH_LEVELS up) that holds ``marker``."""
    for _ in range(SEARCH_LEVELS + 1):
        if exists(folder / marker):
            return folder
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def _python(path: PurePath, exists: Exists) -> PurePath:
    root = _find_up(path.parent, "tests", exists)
    return root / "tests" / f"test_{path.stem}.py" if root else path.with_name(f"test_{path.stem}.py")


def _rust(path: PurePath, exists: Exists) -> PurePath:
    crate = _find_up(path.parent, "Cargo.toml", exists) or path.parent
    return crate / "tests" / f"{path.stem}.rs"


def _jvm(path: PurePath, suffix: str) -> PurePath:
    name = f"{path.stem}{suffix}{path.suffix}"
    parts = list(path.parts)
    for i in range(len(parts) - 2):
        if parts[i] == "src" and parts[i + 1] == "main":
            return PurePath(*parts[: i + 1], "test", *parts[i + 2 : -1], name)
    return path.with_name(name)


def path_for_tests(path: PurePath, language_id: str, exists: Exists) -> PurePath:
    """The test file for the source file ``path`` (it may exist already)."""
    if language_id == "python" or path.suffix == ".py":
        return _python(path, exists)
    if path.suffix in _JS_EXTENSIONS:
        return path.with_name(f"{path.stem}.test{path.suffix}")
    if language_id == "go":
        return path.with_name(f"{path.stem}_test.go")
    if language_id == "rust":
        return _rust(path, exists)
    if language_id in ("java", "kotlin", "scala"):
        return _jvm(path, "Test")
    if language_id == "csharp":
        return path.with_name(f"{path.stem}Tests{path.suffix}")
    if language_id == "php":
        return path.with_name(f"{path.stem}Test{path.suffix}")
    if language_id == "ruby":
        return path.with_name(f"{path.stem}_spec.rb")
    return path.with_name(f"test_{path.stem}{path.suffix}")

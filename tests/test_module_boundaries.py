"""Who may import what: the engine knows nothing of the server, the exporter uses only what the engine
publishes and not the tiny-model builder, and Magicoder's facts are spelled in one module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import lsp_server.engine as engine_pkg
from lsp_server import magicoder
from tests.helpers.paths import ROOT

SERVER, EXPORT, ENGINE = ROOT / "lsp_server", ROOT / "export", ROOT / "lsp_server" / "engine"
FACTS = ROOT / "lsp_server" / "magicoder.py"
# Pieces of the facts: a module other than magicoder.py holding one spells a fact again.
FACT_PIECES = (
    "fim\u2581",
    "begin\u2581of\u2581sentence",
    "end\u2581of\u2581sentence",
    magicoder.EOT,
    magicoder.INSTRUCTION_HEADER,
    "@@ Response",
    "exceptionally intelligent coding assistant",
)


def imports(path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(absolute module, names) for every import in a file; relative imports resolved against its package."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module, tuple(alias.name for alias in node.names)


def sources(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def test_imports_are_resolved():
    found = dict(imports(ENGINE / "generate.py"))
    assert found["lsp_server.engine.api"] and "lsp_server.engine.prefix" in found and "numpy" in found
    assert dict(imports(ENGINE / "manifest.py"))["lsp_server.magicoder"]


def test_the_engine_imports_nothing_of_the_server_but_the_models_facts():
    outside = {
        (path.name, module)
        for path in sources(ENGINE)
        for module, _ in imports(path)
        if module.split(".")[0] in {"lsp_server", "lsprotocol", "pygls"}
        and not module.startswith("lsp_server.engine")
        and module != "lsp_server.magicoder"
    }
    assert outside == set()


def test_the_exporter_uses_only_what_the_engine_publishes():
    public = set(engine_pkg.__all__) | set(engine_pkg.PUBLIC_MODULES)
    private = []
    for path in sources(EXPORT):
        for module, names in imports(path):
            if module == "lsp_server.engine":
                private += [f"{path.name}: {name}" for name in names if name not in public]
            elif module.startswith("lsp_server.engine.") and module.split(".")[2] not in engine_pkg.PUBLIC_MODULES:
                private.append(f"{path.name}: {module}")
    assert private == []


def test_only_the_tiny_command_imports_the_tiny_model_builder():
    importers = sorted(
        path.name
        for path in sources(EXPORT)
        if path.name != "tiny.py" and any(m == "export.tiny" for m, _ in imports(path))
    )
    assert importers == ["cli.py"]


def _strings(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def test_magicoders_facts_are_spelled_only_in_magicoder_py():
    facts = "\n".join(_strings(FACTS))
    assert [piece for piece in FACT_PIECES if piece not in facts] == []
    spelled = sorted(
        f"{path.relative_to(ROOT)}: {piece!r}"
        for path in sources(SERVER, EXPORT)
        if path != FACTS
        for text in _strings(path)
        for piece in FACT_PIECES
        if piece in text
    )
    assert spelled == []


def test_the_device_names_are_defined_once():
    tuples = sorted(
        str(path.relative_to(ROOT))
        for path in sources(SERVER, EXPORT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Tuple) and [getattr(e, "value", None) for e in node.elts] == list(magicoder.DEVICES)
    )
    assert tuples == ["lsp_server/magicoder.py"]

"""The package's shape, enforced: stages import in one order, and file names live in ``formats/``.

The order (``a | b``: siblings, neither imports the other)::

    utils <- core <- formats <- data | model <- training | play <- rating <- report
          <- experiments | kg | analysis <- commands <- cli <- __main__

(``cli`` imports each command's module by its name, when that command runs.)

A module may import its own package and any package of a lower layer. Every import counts,
function-local and ``TYPE_CHECKING`` ones included: a cycle hidden in a function is still a
cycle. A string constant that names a file of the pipeline (``*.json``, ``*.jsonl``, ``*.npy``,
``*.safetensors``, ``*.csv``) may appear only in ``chessformer/formats/``, the one owner of every
file name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "chessformer"
LAYERS = [("utils",), ("core",), ("formats",), ("data", "model"), ("training", "play"),
          ("rating",), ("report",), ("experiments", "kg", "analysis"), ("commands",), ("cli",), ("__main__",)]
LAYER = {part: i for i, parts in enumerate(LAYERS) for part in parts}
FILE_NAME = re.compile(r"^[\w.{}/<>-]*\.(json|jsonl|npy|safetensors|csv)$")


def _part(module: str) -> str | None:
    """``chessformer.play.arena`` -> ``play``; ``chessformer`` itself -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "chessformer" and len(parts) > 1 else None


def _imports(tree: ast.AST, here: str) -> list[tuple[int, str]]:
    """(line, module) of every chessformer import in a file, relative imports resolved."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("chessformer")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: -node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("chessformer"):
                # `from chessformer import utils` imports the submodule named
                out += [(node.lineno, f"{module}.{a.name}" if module == "chessformer" else module)
                        for a in node.names]
    return out


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        yield path, name, ast.parse(path.read_text(encoding="utf-8"))


def test_every_package_has_a_layer():
    parts = {_part(name) for _, name, _ in _modules()} - {None}
    assert parts <= set(LAYER), f"give these a layer: {sorted(parts - set(LAYER))}"


def test_no_import_against_the_layer_order():
    wrong = []
    for path, name, tree in _modules():
        mine = _part(name)
        if mine is None:
            continue
        for line, module in _imports(tree, name if path.name != "__init__.py" else name + ".x"):
            theirs = _part(module)
            if theirs is None or theirs == mine:
                continue
            if LAYER[theirs] >= LAYER[mine]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({mine}) imports "
                             f"{module} ({theirs})")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_file_names_are_spelled_only_in_formats():
    found = []
    for path, name, tree in _modules():
        if _part(name) == "formats":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and FILE_NAME.match(node.value):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}")
    assert not found, "file names outside chessformer/formats/:\n" + "\n".join(found)


def test_the_checks_catch_what_they_are_for():
    """Each check fails on a file that breaks its rule (so a passing run means something)."""
    bad = ast.parse("def f():\n    from chessformer.report.verdict import LEVEL\n"
                    "PATH = 'metrics.jsonl'\n")
    assert _imports(bad, "chessformer.play.grid") == [(2, "chessformer.report.verdict")]
    assert LAYER[_part("chessformer.report.verdict")] > LAYER["play"]
    assert any(isinstance(n, ast.Constant) and FILE_NAME.match(str(n.value)) for n in ast.walk(bad))
    assert not FILE_NAME.match("run folder: checkpoints, metrics.jsonl, run.json")

"""The documentation cannot drift from the code: README.md and docs/*.md are checked here.

* every code block fenced as ```` ```python example ```` runs, each in a fresh process in an
  empty folder with the repository on ``PYTHONPATH``; a failure names the file and the line;
* every relative link points to a file that exists (and an ``#anchor`` to a heading there);
* every field of each record named in docs/records.md appears in that record's table, and the
  table names no field the record lacks.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```+|~~~+)\s*(.*)$")


def code_blocks(path: Path) -> list[tuple[int, str, str]]:
    """``(line of the opening fence, info string, code)`` of every fenced block of a page."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i].strip())
        if m:
            fence, info, start = m.group(1), m.group(2).strip(), i
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            blocks.append((start + 1, info, "\n".join(body) + "\n"))
        i += 1
    return blocks


def examples() -> list[tuple[Path, int, str]]:
    return [(page, line, code) for page in PAGES for line, info, code in code_blocks(page)
            if info.split() == ["python", "example"]]


EXAMPLES = examples()


def _rel(page: Path) -> str:
    try:
        return str(page.resolve().relative_to(ROOT))
    except ValueError:
        return str(page)


def test_there_are_examples_in_the_readme_and_in_docs():
    where = {_rel(p) for p, _, _ in EXAMPLES}
    assert "README.md" in where and "docs/api.md" in where, where


@pytest.mark.stockfish
@pytest.mark.parametrize("page, line, code", EXAMPLES,
                         ids=[f"{_rel(p)}:{n}" for p, n, _ in EXAMPLES])
def test_example_runs(page, line, code, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode:
        pytest.fail(f"{_rel(page)}:{line}: the example fails (exit {proc.returncode}):\n"
                    f"{proc.stderr[-3000:]}", pytrace=False)


# -- links -----------------------------------------------------------------------------------

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's anchors of a page's headings (lower case, punctuation dropped, spaces to -)."""
    out = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line.strip()):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        text = line.lstrip("#").strip().lower()
        out.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return out


def links(path: Path) -> list[tuple[int, str]]:
    """``(line, target)`` of every Markdown link outside code blocks."""
    out, in_code = [], False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if _FENCE.match(line.strip()):
            in_code = not in_code
            continue
        if not in_code:
            out += [(n, m.group(1)) for m in _LINK.finditer(line)]
    return out


def broken_links(page: Path) -> list[str]:
    bad = []
    for n, target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            bad.append(f"{_rel(page)}:{n}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{_rel(page)}:{n}: {target} (no such heading)")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_point_to_files_that_exist(page):
    assert broken_links(page) == []


def test_a_broken_link_is_found(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# A heading\n")
    page.write_text("[ok](there.md#a-heading) [no](missing.md) [no anchor](there.md#nope)\n"
                    "```\n[in code](ignored.md)\n```\n")
    bad = [b.split(": ", 1)[1] for b in broken_links(page)]
    assert bad == ["missing.md (no such file)", "there.md#nope (no such heading)"]


# -- records ---------------------------------------------------------------------------------

RECORDS = ROOT / "docs" / "records.md"
_RECORD_HEADING = re.compile(r"^## `(\w+)`: `([\w.]+)`\s*$")


def record_tables(path: Path = RECORDS) -> dict[str, list[str]]:
    """For each ``## `Name`: `module.Name``` section, the first column of its table."""
    tables: dict[str, list[str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            m = _RECORD_HEADING.match(line)
            current = m.group(2) if m else None
            if current:
                tables[current] = []
        elif current and line.startswith("| `"):
            tables[current].append(line.split("|")[1].strip().strip("`"))
    return tables


def _record_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_records_page_lists_the_records():
    """Every typed record in chessformer.formats has its section (and the verdict's two)."""
    import pkgutil

    import chessformer.formats
    from chessformer.formats.records import Record

    names = set(record_tables())
    records = {f"{cls.__module__}.{cls.__name__}"
               for info in pkgutil.iter_modules(chessformer.formats.__path__)
               for cls in vars(importlib.import_module(f"chessformer.formats.{info.name}")).values()
               if isinstance(cls, type) and issubclass(cls, Record) and cls is not Record
               and cls.__module__.startswith("chessformer.formats.")}
    assert len(records) > 10
    assert sorted(records - names) == []
    for path in ("chessformer.report.verdict.Verdict", "chessformer.report.verdict.Exploratory"):
        assert path in names


@pytest.mark.parametrize("path", sorted(record_tables()))
def test_every_record_field_is_in_its_table(path):
    cls = _record_class(path)
    fields = [f.name for f in dataclasses.fields(cls)]
    documented = record_tables()[path]
    assert [f for f in fields if f not in documented] == [], f"{path}: fields missing in docs/records.md"
    assert [f for f in documented if f not in fields] == [], f"{path}: docs/records.md names fields it lacks"


def test_a_missing_field_is_found(tmp_path):
    page = tmp_path / "records.md"
    text = RECORDS.read_text(encoding="utf-8")
    page.write_text(text.replace("| `plies` |", "| `plys` |", 1))
    table = record_tables(page)["chessformer.formats.games.GameRecord"]
    assert "plies" not in table and "plies" in [
        f.name for f in dataclasses.fields(_record_class("chessformer.formats.games.GameRecord"))]

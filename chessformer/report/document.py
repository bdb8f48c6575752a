"""report.md and report.html from sections: one renderer per format, one Markdown table.

A report is a list of :class:`Section` (a title, paragraphs, an optional table, image and links);
:func:`render_markdown` and :func:`render_html` write the same sections. :func:`md_table` is the
one Markdown table writer (``experiment.md`` uses it too).
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def fmt_value(x: Any, nd: int = 0, signed: bool = False) -> str:
    """A number for a table cell (``n/a`` for None and non-finite floats)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:+.{nd}f}" if signed else f"{x:.{nd}f}"
    return str(x)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table (cells' ``|`` escaped) and the blank line after it."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return out + [""]


@dataclass
class Section:
    title: str
    paragraphs: list[str]  # plain text (escaped for HTML)
    headers: list[str] | None = None
    rows: list[list[str]] | None = None
    image: str | None = None  # file name beside the report
    links: list[tuple[str, str]] | None = None  # (text, relative href)


def render_markdown(sections: list[Section], title: str) -> str:
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for p in s.paragraphs:
            out += [p, ""]
        if s.image:
            out += [f"![{s.title}]({s.image})", ""]
        if s.headers and s.rows is not None:
            out += md_table(s.headers, s.rows)
        for text, href in s.links or []:
            out.append(f"- [{text}]({href.replace(' ', '%20')})")
        if s.links:
            out.append("")
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .verdict { font-size: 1.1em; font-weight: 600; }
code { background: #f5f5f5; padding: 0 3px; }
"""


def render_html(sections: list[Section], title: str, out_dir: Path) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    for s in sections:
        out.append(f"<h2>{e(s.title)}</h2>")
        for p in s.paragraphs:
            cls = ' class="verdict"' if s.title == "Verdict" and p.startswith("**") else ""
            out.append(f"<p{cls}>{e(p.replace('**', ''))}</p>")
        if s.image:
            data = base64.b64encode((out_dir / s.image).read_bytes()).decode("ascii")
            out.append(f'<img alt="{e(s.title)}" src="data:image/png;base64,{data}">')
        if s.headers and s.rows is not None:
            out.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in s.headers)
                       + "</tr></thead><tbody>")
            for r in s.rows:
                out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>")
            out.append("</tbody></table>")
        if s.links:
            out.append("<ul>" + "".join(f'<li><a href="{e(h)}">{e(t)}</a></li>'
                                        for t, h in s.links) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"

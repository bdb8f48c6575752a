"""report.md and report.html from sections: one renderer per format, one Markdown table.

A report is a list of :class:`Section` (a title, paragraphs, an optional table, image and links);
:func:`render_markdown` and :func:`render_html` write the same sections. :func:`md_table` is the
one Markdown table writer (``experiment.md`` uses it too).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table (cells' ``|`` escaped) and the blank line after it."""
    out = ["| " + " | ".join(h.replace("\n", " ") for h in headers) + " |",
           "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in r) + " |"
            for r in rows]
    return out + [""]


@dataclass
class Section:
    title: str
    paragraphs: list[str]  # plain text (escaped for HTML)
    headers: list[str] | None = None
    rows: list[list[str]] | None = None
    image: str | None = None  # file name beside the report
    links: list[tuple[str, str]] | None = None  # (text, relative href)
    # Background colours of the table's cells (CSS colours, None: none), same shape as rows; a
    # cell's "\n" is a line break in HTML and a space in Markdown.
    colours: list[list[str | None]] | None = None
    image_in_html: bool = True  # False: the HTML shows the coloured table in the image's place
    # Trusted HTML (inline SVG boards) written after the table in HTML only; Markdown has links.
    html: str | None = None


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
td.cell { text-align: center; min-width: 5.5em; } td.cell small { opacity: 0.85; }
.warning { border-left: 4px solid #d9822b; background: #fff4e5; padding: 0.4em 0.8em; }
"""


#: A paragraph starting with this is a warning (boxed in HTML).
WARNING = "Warning: "


def text_colour(background: str) -> str:
    """Black or white text, whichever reads better on a ``#rrggbb`` background."""
    r, g, b = (int(background[k:k + 2], 16) / 255 for k in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "#fff"


def _lines(text: str) -> str:
    """Escaped HTML; lines after the first in small print."""
    first, *rest = html.escape(text).split("\n")
    return first + "".join(f"<br><small>{x}</small>" for x in rest)


def _td(cell: str, background: str | None) -> str:
    body = _lines(cell)
    if background is None:
        return f"<td>{body}</td>"
    return (f'<td class="cell" style="background:{background};color:{text_colour(background)}">'
            f"{body}</td>")


def render_html(sections: list[Section], title: str, out_dir: Path) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    for s in sections:
        out.append(f"<h2>{e(s.title)}</h2>")
        for p in s.paragraphs:
            cls = (' class="verdict"' if s.title == "Verdict" and p.startswith("**")
                   else ' class="warning"' if p.startswith(WARNING) else "")
            out.append(f"<p{cls}>{e(p.replace('**', ''))}</p>")
        if s.image and s.image_in_html:
            data = base64.b64encode((out_dir / s.image).read_bytes()).decode("ascii")
            out.append(f'<img alt="{e(s.title)}" src="data:image/png;base64,{data}">')
        if s.headers and s.rows is not None:
            out.append("<table><thead><tr>" + "".join(f"<th>{_lines(h)}</th>" for h in s.headers)
                       + "</tr></thead><tbody>")
            for i, r in enumerate(s.rows):
                colours = s.colours[i] if s.colours else [None] * len(r)
                out.append("<tr>" + "".join(_td(c, bg) for c, bg in zip(r, colours)) + "</tr>")
            out.append("</tbody></table>")
        if s.html:
            out.append(s.html)
        if s.links:
            out.append("<ul>" + "".join(f'<li><a href="{e(h)}">{e(t)}</a></li>'
                                        for t, h in s.links) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"

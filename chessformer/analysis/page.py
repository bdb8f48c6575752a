"""``favor.md`` and ``favor.html``: the favor analysis's own page, with its plot and boards."""

from __future__ import annotations

from pathlib import Path

from chessformer.formats import favor as favor_format
from chessformer.formats.favor import FavorResult
from chessformer.report.document import Section, render_html, render_markdown
from chessformer.report.favor import board_svg, favor_sections, plot_favor
from chessformer.utils import write_text_atomic

__all__ = ["write_favor_page"]


def write_favor_page(out: Path, r: FavorResult) -> dict[str, Path]:
    plot_favor(out / favor_format.FAVOR_PLOT, r)
    boards = []
    for k, s in enumerate(r.top_states, 1):
        svg = board_svg(s)
        write_text_atomic(out / favor_format.board_svg_name(k), svg)
        boards.append(svg)
    sections = favor_sections(r, favor_format.FAVOR_PLOT, boards)
    if r.top_states:
        sections[-1].links = [(f"board {k}", favor_format.board_svg_name(k))
                              for k in range(1, len(r.top_states) + 1)]
    sections.append(Section("Provenance", [
        f"Command: {r.command or 'not recorded'}", f"Code: {r.code_version}; created {r.created}; "
        f"{r.seconds:.0f} s in all.",
        f"Scorer: {r.scorer['engine']}, {r.scorer['search']}, "
        f"{r.scorer['processes']} engine processes; {r.scorer['scored_now']} positions scored "
        f"now, {r.scorer['from_cache']} from the cache; "
        f"{r.scorer['positions_per_s_per_process'] or 'n/a'} positions per second per "
        "process (of those scored now).",
        f"Games: {', '.join(r.evals)}; training experts: {', '.join(r.experts) or 'none known'}."]))
    title = f"Favor analysis: {Path(r.run).name}"
    md, page = out / favor_format.FAVOR_MD, out / favor_format.FAVOR_HTML
    write_text_atomic(md, render_markdown(sections, title))
    write_text_atomic(page, render_html(sections, title, out))
    return {"md": md, "html": page}

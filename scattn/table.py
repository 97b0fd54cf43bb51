"""Table: rows of dicts that print as aligned text, render as HTML and export as Markdown.

Every table the package shows is one: a training ``History``, a ``ComparisonTable``,
the benchmark results. ``print(table)`` in a terminal; the table itself as the
last line of a notebook cell; ``table.to_markdown()`` for docs/. It imports
neither torch nor matplotlib.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Format = Callable[[Any], str]


def _default_format(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.4g}"
    return str(value)


class Table:
    """Rows of dicts that print as aligned text and render as HTML in a notebook.

    ``columns`` picks and orders the keys (default: the first row's keys);
    ``formats`` maps a column to a function that turns its value into text.
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        columns: Sequence[str] | None = None,
        formats: Mapping[str, Format] | None = None,
        headers: Mapping[str, str] | None = None,
        title: str | None = None,
    ):
        self.rows = [dict(r) for r in rows]
        if columns is None:
            columns = list(self.rows[0]) if self.rows else []
        self.columns = list(columns)
        self.formats = dict(formats or {})
        self.headers = dict(headers or {})
        self.title = title

    def cells(self) -> tuple[list[str], list[list[str]]]:
        """(header texts, body texts): what every rendering prints."""
        head = [self.headers.get(c, c) for c in self.columns]
        body = [
            [self.formats.get(c, _default_format)(row.get(c)) for c in self.columns]
            for row in self.rows
        ]
        return head, body

    def __str__(self) -> str:
        head, body = self.cells()
        widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(head)]
        # Text left-aligned, numbers right-aligned, as people read them.
        numeric = [all(_looks_numeric(r[i]) for r in body) and body != [] for i in range(len(head))]

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)
            ).rstrip()

        out = [self.title] if self.title else []
        out += [line(head), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in body]
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head, body = self.cells()
        esc = html.escape
        parts = ["<table>"]
        if self.title:
            parts.append(f"<caption>{esc(self.title)}</caption>")
        parts.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead>")
        parts.append("<tbody>")
        for r in body:
            parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
        parts.append("</tbody></table>")
        return "".join(parts)

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table (what docs/results.md holds)."""
        head, body = self.cells()
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(out)


def _looks_numeric(text: str) -> bool:
    t = text.replace("±", " ").replace("%", "").replace(",", "").split()
    if not t:
        return False
    try:
        float(t[0].rstrip("kMGT"))
    except ValueError:
        return False
    return True


__all__ = ["Table"]

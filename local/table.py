"""A plain-text table that fits a terminal width and stays aligned with wide (East Asian) characters."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

ELLIPSIS = "…"
MIN_COLUMN = 8  # no column is squeezed below this many terminal columns
GAP = "  "


def display_width(text: str) -> int:
    """Terminal columns text takes: wide and full-width characters take two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def truncate(text: str, width: int, keep_end: bool = False) -> str:
    """text cut to width columns with an ellipsis; keep_end keeps its start and its end (for paths)."""
    if display_width(text) <= width:
        return text
    if keep_end:
        head = _take(text, (width - 1) // 3)  # the end (a file name) says more than the start
        tail = _take(text[::-1], width - 1 - display_width(head))[::-1]
        return head + ELLIPSIS + tail
    return _take(text, width - 1) + ELLIPSIS


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def render(header: Sequence[str], rows: Sequence[Sequence[str]], max_width: int = 120,
           keep_end: Sequence[int] = ()) -> list[str]:
    """The table's lines, each at most max_width columns: the widest column gives way first.

    Columns named in keep_end (by index) lose their middle rather than their end, and give way at
    half the rate of the others: they hold what a reader looks for (a path, a file name).
    """
    table = [list(header), *(list(map(str, row)) for row in rows)]
    widths = [max(display_width(row[i]) for row in table) for i in range(len(header))]
    budget = max_width - len(GAP) * (len(header) - 1)
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: widths[i] / (2 if i in keep_end else 1))
        if widths[widest] <= MIN_COLUMN:
            break
        widths[widest] -= 1
    lines = []
    for row in table:
        cells = [truncate(cell, width, keep_end=i in keep_end) for i, (cell, width) in enumerate(zip(row, widths))]
        lines.append(GAP.join(pad(cell, width) for cell, width in zip(cells, widths)).rstrip())
    return lines


def _take(text: str, width: int) -> str:
    """The longest start of text that fits in width columns."""
    taken = ""
    for char in text:
        if display_width(taken + char) > width:
            break
        taken += char
    return taken

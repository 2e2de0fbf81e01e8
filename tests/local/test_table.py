"""The demo's table: at most 120 columns, and aligned when names hold wide (East Asian) characters."""

import unicodedata

from local.table import display_width, render, truncate

WIDE = "ジャガイモの葉 3.jpg"  # each of the seven kana and kanji takes two terminal columns


def columns(text: str) -> int:
    """Terminal columns, counted here independently of the code under test."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def column_starts(line: str, cells: list[str]) -> list[int]:
    """The terminal column at which each cell starts in a rendered line."""
    starts, pos = [], 0
    for cell in cells:
        index = line.index(cell, pos)
        starts.append(columns(line[:index]))
        pos = index + len(cell)
    return starts


def test_wide_characters_take_two_columns_and_combining_marks_none():
    assert display_width(WIDE) == 7 * 2 + len(" 3.jpg")
    assert display_width("feuille nº 3") == 12
    assert display_width("e\u0301") == 1  # e + combining acute accent


def test_columns_line_up_when_a_name_has_wide_characters():
    rows = [(WIDE, "ok", "Potato_healthy"), ("RS_LB 4026.JPG", "ok", "Potato_Late blight")]
    header, *lines = render(("photo", "status", "label"), rows)
    assert column_starts(lines[0], ["ok", "Potato_healthy"]) == column_starts(lines[1], ["ok", "Potato_Late blight"])
    assert column_starts(header, ["status", "label"]) == column_starts(lines[0], ["ok", "Potato_healthy"])


def test_long_cells_are_cut_so_every_line_fits_120_columns():
    rows = [("garden-images/potato/" + "Potato___Early_blight/" * 3 + WIDE, "rejected", "x" * 90, "1.000")] * 3
    lines = render(("key", "status", "error", "conf."), rows, max_width=120, keep_end=(0,))
    assert max(columns(line) for line in lines) <= 120
    assert lines[1].split("  ")[0].endswith("3.jpg")  # a path keeps its end, the file name
    assert "…" in lines[1]


def test_truncation_never_splits_a_wide_character_past_the_width():
    cut = truncate(WIDE * 3, 9)
    assert display_width(cut) <= 9 and cut.endswith("…")

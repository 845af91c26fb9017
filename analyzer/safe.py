"""Make text from the input safe to open in a spreadsheet program.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some programs strip before evaluating) is run as a formula by Excel and LibreOffice when a CSV
or xlsx is opened. We prefix such text with an apostrophe, the convention spreadsheet programs
themselves use for "this is text". Numbers are written as numbers and never escaped, so a
negative amount stays a negative number.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(text: str | None) -> str | None:
    """Escape one text cell."""
    if text and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    """Undo ``escape_formula``: the text as it was before it was written out."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def escape_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Escape every text column of a frame (vectorised; numbers and dates are left alone)."""
    pattern = "^[=+\\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(pattern))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def write_safe_csv(frame: pl.DataFrame, path: str | Path) -> None:
    """Write a CSV a person can open safely: formulas escaped, UTF-8 with BOM for Excel."""
    escape_formulas(frame).write_csv(path, include_bom=True)

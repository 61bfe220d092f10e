"""CSV cells a spreadsheet cannot mistake for a formula: the one rule every CSV writer uses.

A protocol title, phase name, drug name or audit reason is text from a file anyone can write. Opened in
Excel, LibreOffice or Google Sheets, a cell such as ``=HYPERLINK("http://…")`` or ``=cmd|' /C calc'!A0``
is a formula, and ``+``, ``-``, ``@``, a tab or a carriage return at the start make one too. Following the
OWASP guidance on CSV injection, a **text** cell that begins with one of ``= + - @``, a tab, a carriage
return or a line feed is prefixed with a single quote (``'=cmd…``): the spreadsheet shows the text, the
quote tells a reader it was neutralised, and the csv module quotes the cell where it must.

**Numbers stay numbers.** A study day ``-3`` or a dose is written as the number it is: only ``str``
values are text cells; ``int``, ``Decimal`` and other numbers pass through :func:`cell` unchanged, so a
column of study days is not turned into text. Writers must therefore hand numbers over as numbers (or
format them themselves) and text as ``str``.

**Line breaks.** A carriage return inside a cell is written as a line feed: the writers end lines with
``\\n``, so the csv module quotes a cell holding ``\\n`` but would leave a bare ``\\r`` unquoted, and
many readers take a bare ``\\r`` for the end of a row.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FORMULA_TRIGGERS", "cell", "row", "text_cell"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""First characters that make a spreadsheet read a cell as a formula (OWASP; a line feed is added because
a carriage return becomes one here)."""


def text_cell(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet evaluates: a leading formula character gets a ``'`` before it.

    >>> text_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> text_cell("-3"), text_cell("treatment"), text_cell("")
    ("'-3", 'treatment', '')
    >>> text_cell("a\\r\\nb\\rc")
    'a\\nb\\nc'
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def cell(value: object) -> object:
    """A cell value for ``csv.writer``: text is neutralised (:func:`text_cell`), anything else is kept.

    >>> cell("@SUM(A1)"), cell(-3), cell(None)
    ("'@SUM(A1)", -3, None)
    """
    return text_cell(value) if isinstance(value, str) else value


def row(values: Iterable[object]) -> list[object]:
    """:func:`cell` applied to every value of a row."""
    return [cell(value) for value in values]

"""Reading a patient's lab results from a file: CSV from a spreadsheet or a lab system, or YAML/JSON.

CSV: a header row with ``date`` and the value names (``date,anc,plt,crcl,grade.rash``), one row per
date; an empty cell is "not measured". YAML/JSON: ``results:`` a list of mappings, each a ``date``
and its values (``- {date: 2027-01-18, plt: 25, anc: 1.4}``). Every problem is located at the
row and column (CSV) or the line and column (YAML) of the value, like a protocol error, so a typo
in a lab export is found where it is. Computing what the results mean is the engine's job.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lenasched.errors import ProtocolError
from lenasched.model.labs import LabResult, check_value

__all__ = ["load_labs", "parse_labs_csv", "parse_labs_yaml"]

MAX_RESULTS = 5000
"""More dated results than any calendar holds days (the longest accepted is 2000 cycles) is a mistake."""


def load_labs(path: str | Path) -> tuple[LabResult, ...]:
    """The results in ``path``: ``.csv`` as CSV, anything else as YAML (JSON is YAML)."""
    from lenasched.model.loader import _read_text

    file = Path(path)
    text = _read_text(file)
    if file.suffix.lower() == ".csv":
        return parse_labs_csv(text, str(file))
    return parse_labs_yaml(text, str(file))


def parse_labs_csv(text: str, source: str = "<csv>") -> tuple[LabResult, ...]:
    rows = list(csv.reader(io.StringIO(text)))
    rows_with_lines = [(n, row) for n, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    if not rows_with_lines:
        raise ProtocolError("the file has no header row", file=source, hint="start with `date,anc,plt`")
    header_line, header = rows_with_lines[0]
    names = [cell.strip().lower() for cell in header]
    if not names or names[0] != "date":
        raise ProtocolError(
            "the first column must be `date`", file=source, line=header_line, column=1, hint="e.g. `date,anc,plt`"
        )
    for index, name in enumerate(names[1:], start=1):
        _check_name(name, source, header_line, _column(header, index))
        if name in names[:index]:
            raise ProtocolError(f"column {name!r} appears twice", file=source, line=header_line)
    if len(rows_with_lines) - 1 > MAX_RESULTS:
        raise ProtocolError(f"more than {MAX_RESULTS} results (limit MAX_RESULTS)", file=source)
    results = []
    for line, row in rows_with_lines[1:]:
        if len(row) > len(names):
            raise ProtocolError(
                f"{len(row)} cells under a header of {len(names)}",
                file=source,
                line=line,
                column=_column(row, len(names)),
            )
        when = _date(row[0], source, line, 1)
        values: dict[str, Decimal] = {}
        for index, cell in enumerate(row[1:], start=1):
            if cell.strip():
                values[names[index]] = _value(names[index], cell, source, line, _column(row, index))
        if not values:
            raise ProtocolError(f"{when.isoformat()} has no value", file=source, line=line, column=1)
        results.append(LabResult(date=when, values=values))
    return _one_per_date(tuple(results), source, [line for line, _ in rows_with_lines[1:]])


def parse_labs_yaml(text: str, source: str = "<yaml>") -> tuple[LabResult, ...]:
    from lenasched.model.loader import _read_yaml

    hint = "results:\n  - {date: 2027-01-18, plt: 25, anc: 1.4}"
    try:
        data, marks = _read_yaml(text, source)
    except ProtocolError as exc:
        if exc.message != "a protocol file must be a mapping of fields":
            raise
        raise ProtocolError(
            "a lab results file is a mapping with one key, `results:`, a list of dated results",
            file=source,
            line=1,
            column=1,
            hint=hint,
        ) from None
    if set(data) != {"results"} or not isinstance(data["results"], list):
        first_line, first_column = marks.get((), (1, 1))
        raise ProtocolError(
            "a lab results file is a mapping with one key, `results:`, a list of dated results",
            file=source,
            line=first_line,
            column=first_column,
            hint="results:\n  - {date: 2027-01-18, plt: 25, anc: 1.4}",
        )
    items: list[Any] = data["results"]
    if len(items) > MAX_RESULTS:
        raise ProtocolError(f"more than {MAX_RESULTS} results (limit MAX_RESULTS)", file=source)
    results = []
    lines: list[int | None] = []
    for i, item in enumerate(items):
        line, column = marks.get(("results", i), (0, 0))
        if not isinstance(item, dict) or "date" not in item:
            raise ProtocolError(
                "each result is a mapping with a `date` and values",
                file=source,
                line=line,
                column=column,
                path=f"results.{i}",
                hint="- {date: 2027-01-18, plt: 25}",
            )
        values: dict[str, Decimal] = {}
        when: date | None = None
        for key, raw in item.items():
            at = marks.get(("results", i, key), (line, column))
            if key == "date":
                when = _date(raw, source, *at, path=f"results.{i}.date")
                continue
            name = str(key).strip().lower()
            _check_name(name, source, *at, path=f"results.{i}.{key}")
            values[name] = _value(name, raw, source, *at, path=f"results.{i}.{key}")
        assert when is not None
        if not values:
            raise ProtocolError(f"{when.isoformat()} has no value", file=source, line=line, column=column)
        results.append(LabResult(date=when, values=values))
        lines.append(line)
    return _one_per_date(tuple(results), source, lines)


def _column(row: list[str], index: int) -> int:
    """1-based character column where cell ``index`` starts (for unquoted CSV, as exported)."""
    return 1 + sum(len(cell) + 1 for cell in row[:index])


def _check_name(name: str, source: str, line: int | None, column: int | None, path: str | None = None) -> None:
    try:
        check_value(name, Decimal(0))
    except ValueError as exc:
        if "unknown lab value" in str(exc):
            raise ProtocolError(str(exc), file=source, line=line, column=column, path=path) from None


def _date(raw: Any, source: str, line: int | None, column: int | None, path: str | None = None) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ProtocolError(
            f"{str(raw).strip()!r} is not a date", file=source, line=line, column=column, path=path, hint="YYYY-MM-DD"
        ) from None


def _value(name: str, raw: Any, source: str, line: int | None, column: int | None, path: str | None = None) -> Decimal:
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or isinstance(raw, bool):
        raise ProtocolError(
            f"{name}: {str(raw).strip()!r} is not a number", file=source, line=line, column=column, path=path
        )
    try:
        check_value(name, number)
    except ValueError as exc:
        raise ProtocolError(str(exc), file=source, line=line, column=column, path=path) from None
    return number


def _one_per_date(results: tuple[LabResult, ...], source: str, lines: Sequence[int | None]) -> tuple[LabResult, ...]:
    seen: dict[date, int | None] = {}
    for result, line in zip(results, lines, strict=True):
        if result.date in seen:
            raise ProtocolError(
                f"a second result for {result.date.isoformat()} (the first is on line {seen[result.date]})",
                file=source,
                line=line,
                hint="give one result per date with all its values",
            )
        seen[result.date] = line
    return results

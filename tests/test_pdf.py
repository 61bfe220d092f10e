"""``--format pdf``: the printable calendar printed by headless Chromium (see lenasched/formats/pdf.py).

Needs Debian's ``chromium`` (or ``LENASCHED_CHROMIUM``); without it the printing tests skip, saying
so (or fail, under ``LENASCHED_REQUIRE_BROWSER=1`` as in CI), and the one-line error is still tested.
Page counts are read with pypdf (the test extra).
"""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from lenasched import Patient, expand, get_protocol
from lenasched.cli.main import main
from lenasched.engine.calendar import Calendar
from lenasched.formats.html import calendar_page, to_html
from lenasched.formats.pdf import html_to_pdf, normalise_pdf

from .browser import import_or_unavailable
from .test_html import make_calendar

pypdf = import_or_unavailable(
    "pypdf", "the PDF tests read pages with pypdf: pip install -e '.[test]'", module_level=True
)
needs_chromium = pytest.mark.usefixtures("chromium_binary")  # skip without one, fail where required (tests/browser.py)
#: Landscape page sizes in PDF points.
SIZES = {"a4": (842, 595), "letter": (792, 612)}


def busy_calendar() -> Calendar:
    """Five drugs, a lead-in and mg/m² doses: the fullest cells of the bundled protocols."""
    return expand(get_protocol("gimema-llc0606"), date(2026, 12, 1), cycles=6, patient=Patient(bsa_m2=Decimal("1.8")))


@cache
def printed(which: str, paper: str) -> bytes:
    cal = make_calendar() if which == "light" else busy_calendar()
    return html_to_pdf(to_html(cal, paper=paper, allow_multiple=True))  # type: ignore[arg-type]


@needs_chromium
@pytest.mark.parametrize(("which", "paper"), [("light", "a4"), ("busy", "letter"), ("busy", "a4")])
def test_page_count_is_cover_plus_months_on_the_right_paper(which: str, paper: str) -> None:
    cal = make_calendar() if which == "light" else busy_calendar()
    months = len(calendar_page(cal, paper=paper, allow_multiple=True).months)  # type: ignore[arg-type]
    reader = pypdf.PdfReader(io.BytesIO(printed(which, paper)))
    assert len(reader.pages) == 1 + months
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == SIZES[paper]
    assert "Treatment calendar" in reader.pages[0].extract_text()


@needs_chromium
def test_fonts_are_embedded_and_no_print_time_is_written() -> None:
    data = printed("busy", "a4")
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = 0
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        for font in resources.get("/Font", {}).values():
            font = font.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for inner in descendants:
                descriptor = inner["/FontDescriptor"].get_object()
                assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), inner
                fonts += 1
    assert fonts > 0
    metadata = reader.metadata or {}
    assert "/CreationDate" not in metadata and "/ModDate" not in metadata
    assert b"/CreationDate" not in data and b"/ModDate" not in data


@needs_chromium
def test_the_same_page_prints_to_the_same_bytes() -> None:
    html = to_html(make_calendar(), paper="a4")
    assert html_to_pdf(html) == printed("light", "a4")


def test_normalise_keeps_offsets_and_order() -> None:
    raw = (
        b"<</CreationDate (D:20261202013634+00'00')\n/ModDate (D:20261202013634+00'00')>>"
        b" /ID (node00000973) /ID (node00000065)"
    )
    out = normalise_pdf(raw)
    assert len(out) == len(raw) and b"D:2026" not in out
    assert re.findall(rb"node(\d{8})", out) == [b"00000002", b"00000001"]


@needs_chromium
def test_cli_writes_the_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "cal.pdf"
    argv = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "2", "--format", "pdf", "--paper", "letter"]
    assert main([*argv, "-o", str(target)]) == 0
    reader = pypdf.PdfReader(target)
    cal = expand(get_protocol("badoux-2011"), date(2026, 12, 1), cycles=2)
    assert len(reader.pages) == 1 + len(calendar_page(cal, paper="letter").months)
    assert round(float(reader.pages[0].mediabox.width)) == 792


def test_without_chromium_the_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LENASCHED_CHROMIUM", str(tmp_path / "no-such-chromium"))
    code = main(["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "1", "--format", "pdf"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("error: --format pdf needs Chromium or Google Chrome to print the calendar")
    assert "LENASCHED_CHROMIUM" in err and "--format html" in err
    monkeypatch.delenv("LENASCHED_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "1", "--format", "pdf"]) == 1
    assert "apt-get install chromium" in capsys.readouterr().err


def test_paper_applies_to_pdf_and_html_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "badoux-2011", "--start", "2026-12-01", "--format", "csv", "--paper", "a4"]) == 1
    assert "--paper applies to --format html and pdf only" in capsys.readouterr().err

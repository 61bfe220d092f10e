"""The printable calendar in a real browser: headless Chromium renders it, prints it, screenshots it.

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it where missing) or
a binary named by ``LENASCHED_CHROMIUM``. Without one the tests skip, saying so, or fail where the
browser is required (``LENASCHED_REQUIRE_BROWSER=1``, as ``.ci/run`` sets it). The screenshot is
saved as ``cal.png`` in the test's temporary folder (``pytest --basetemp=DIR`` to keep it).
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import lenasched
from lenasched import Patient, expand
from lenasched.cli.main import main
from lenasched.formats.html import to_html
from lenasched.formats.pdf import find_chromium

from .goldens import day_texts
from .test_html import make_calendar

TIMEOUT_S = 120


CHROMIUM = find_chromium()  # the binary --format pdf prints with: LENASCHED_CHROMIUM, else the first on PATH
pytestmark = pytest.mark.usefixtures("chromium_binary")  # skip without one, fail where required (tests/browser.py)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run headless Chromium offline with a throw-away profile; fail the test on error."""
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"
    return done


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "cal.html"
    path.write_text(to_html(make_calendar()), encoding="utf-8")
    return path


def test_rendered_text_of_chosen_days(page: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout.decode("utf-8")
    days = day_texts(dom)
    assert days["2026-01-26"] == (
        "26 induction cycle 1 · day 1 Lenalidomide: one 2.5 mg capsule Rituximab: 675 mg at the clinic Aspirin: 100 mg"
    )
    assert days["2026-02-03"] == "3 induction cycle 1 · day 9 Rest day"
    assert days["2026-02-09"] == "9 induction cycle 2 · day 1 Lenalidomide: one 5 mg capsule New dose Aspirin: 100 mg"
    assert days["2026-02-23"].startswith("23 maintenance cycle 1 · day 1 Lenalidomide: one 5 mg capsule")
    assert days["2026-03-09"] == "9 after end"


def test_screenshot_is_saved(page: Path, tmp_path: Path) -> None:
    png = tmp_path / "cal.png"
    chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,1600", page.as_uri())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 1600)
    assert len(data) > 20_000  # a page with content, not a blank image


def page_count(pdf: Path) -> int:
    """Pages of a PDF: pypdf when installed (the ``test`` extra has it), else its ``/Type /Page`` objects."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
    return len(PdfReader(pdf).pages)


def printed_pages(tmp_path: Path, html: Path) -> int:
    pdf = html.with_suffix(".pdf")
    chromium(tmp_path / html.stem, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri())
    return page_count(pdf)


def test_prints_one_month_per_page(page: Path, tmp_path: Path) -> None:
    html = page.read_text(encoding="utf-8")
    overview = tmp_path / "overview.html"
    overview.write_text(re.sub(r'<section class="month".*?</section>', "", html, flags=re.S), encoding="utf-8")
    first_pages = printed_pages(tmp_path, overview)
    assert first_pages == 1  # this short calendar's overview fits one page (a long one may take more)
    assert printed_pages(tmp_path, page) == first_pages + 3  # then January, February, March: one page each


# --- Every bundled protocol, 6 cycles, on A4 and on Letter: the cover is one page, each month one page. ---

START = date(2026, 12, 1)
PAPERS = ("a4", "letter")


def _print_all(tmp_path: Path, pages: dict[str, Path]) -> dict[str, int]:
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        counts = pool.map(lambda item: printed_pages(tmp_path, item[1]), pages.items())
        return dict(zip(pages, counts, strict=True))


def test_every_bundled_protocol_prints_cover_plus_one_page_per_month(tmp_path: Path) -> None:
    expected: dict[str, int] = {}
    files: dict[str, Path] = {}
    for pid in lenasched.bundled_ids():
        cal = expand(lenasched.get_protocol(pid), START, cycles=6, patient=Patient(bsa_m2=Decimal("1.9")))
        for paper in PAPERS:
            html = to_html(cal, paper=paper)  # type: ignore[arg-type]
            key = f"{pid}-{paper}"
            files[key] = tmp_path / f"{key}.html"
            files[key].write_text(html, encoding="utf-8")
            expected[key] = 1 + html.count('<section class="month"')
    got = _print_all(tmp_path, files)
    wrong = {key: f"{got[key]} pages, expected {expected[key]}" for key in files if got[key] != expected[key]}
    assert not wrong, wrong


def test_a_held_and_delayed_calendar_prints_cover_plus_one_page_per_month(tmp_path: Path) -> None:
    files: dict[str, Path] = {}
    for paper in PAPERS:
        out = tmp_path / f"held-{paper}.html"
        argv = ["calendar", "badoux-2011", "--start", START.isoformat(), "--cycles", "6", "--format", "html"]
        argv += ["--hold", "2027-01-05:neutropenia:3", "--resume", "2027-01-19", "--delay", "4:7"]
        argv += ["--rems", "--crcl", "40", "--paper", paper, "-o", str(out)]
        assert main(argv) == 0
        files[paper] = out
    got = _print_all(tmp_path, files)
    for paper, path in files.items():
        html = path.read_text(encoding="utf-8")
        assert "held</span> (neutropenia, grade 3)" in html and "Delayed: cycle 4 starts 2 Mar 2027" in html
        assert got[paper] == 1 + html.count('<section class="month"'), paper

"""``lenasched serve`` in a real browser: headless Chromium driven by Playwright loads the app, fills
the form, gets the calendar, prints it to PDF, downloads each format and submits bad input.

Uses the system Chromium (Debian's ``chromium``, or ``LENASCHED_CHROMIUM``); Playwright never downloads
a browser here. Skips, saying why, without Playwright, the web extra or a Chromium (fails instead under
``LENASCHED_REQUIRE_BROWSER=1``, as ``.ci/run`` sets it: see tests/browser.py). Screenshots go
to the test's temporary folder; set ``LENASCHED_WEB_SCREENSHOTS=docs/img`` to refresh the ones in the
documentation (docs/web.md).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import import_or_unavailable, unavailable

import_or_unavailable("starlette", "the web app needs starlette: pip install -e '.[web]'", module_level=True)
uvicorn = import_or_unavailable("uvicorn", "lenasched serve needs uvicorn: pip install -e '.[web]'", module_level=True)
sync_api = import_or_unavailable("playwright.sync_api", "needs Playwright: pip install playwright", module_level=True)

from lenasched.cli.main import main  # noqa: E402
from lenasched.formats.pdf import find_chromium  # noqa: E402
from lenasched.web.app import create_app  # noqa: E402

CHROMIUM = find_chromium()  # the binary --format pdf prints with: LENASCHED_CHROMIUM, else the first on PATH
pytestmark = pytest.mark.usefixtures("chromium_binary")  # skip without one, fail where required (tests/browser.py)
START = "2026-12-01"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The app on a free loopback port, in a thread, as ``lenasched serve`` runs it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(allowed_hosts=["127.0.0.1", "localhost"], default_paper="a4")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=30)
        listener.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        except Exception as exc:  # pragma: no cover - a broken Chromium: skip with the reason (fail where required)
            unavailable(f"Chromium at {CHROMIUM} did not start under Playwright: {exc}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    yield page
    context.close()


def shots(tmp_path: Path) -> list[Path]:
    folders = [tmp_path]
    if os.environ.get("LENASCHED_WEB_SCREENSHOTS"):
        folders.append(Path(os.environ["LENASCHED_WEB_SCREENSHOTS"]))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


def screenshot(page: Any, tmp_path: Path, name: str, **options: Any) -> None:
    for folder in shots(tmp_path):
        page.screenshot(path=str(folder / name), **options)


def cli_bytes(tmp_path: Path, kind: str, *options: str) -> bytes:
    out = tmp_path / f"cli.{kind}"
    argv = ["calendar", "badoux-2011", "--start", START, "--cycles", "3", "--format", kind, *options]
    assert main([*argv, "--output", str(out), "--force"]) == 0
    return out.read_bytes()


def fill_form(page: Any) -> None:
    page.fill("#f-protocol", "badoux")  # the searchable list: the datalist offers the badoux protocols
    options = page.eval_on_selector_all("#protocol-list option", "os => os.map(o => o.value + ' ' + o.label)")
    assert any(o.startswith("badoux-2011 ") and "untreated CLL" in o and "Blood 2011" in o for o in options)
    page.fill("#f-protocol", "badoux-2011")
    page.fill("#f-start", START)
    page.fill("#f-cycles", "3")
    page.select_option("#f-market", "us")
    page.fill("#f-holds", "2027-01-10:neutropenia:3")
    page.fill("#f-resumes", "2027-01-24")


def test_calendar_print_downloads_and_bad_input(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(server + "/")
    assert page.title() == "Calendar · lenasched"
    screenshot(page, tmp_path, "web-form.png", full_page=True)
    fill_form(page)
    with page.expect_response(lambda r: r.url.startswith(server + "/calendar")) as answer:
        page.click("form#plan button[type=submit]")
    assert answer.value.status == 200
    page.wait_for_selector("#result")
    assert page.title().startswith("badoux-2011 from 2026-12-01")
    frame = page.frame_locator("#calendar-frame")
    assert "Treatment calendar" in frame.locator("h1").first.inner_text()
    # The embedded calendar is styled (its <style> allowed by hash): the month grid has its borders.
    border = frame.locator("table.grid").first.evaluate("t => getComputedStyle(t).borderCollapse")
    assert border == "collapse"
    assert page.is_visible("#print-now")  # the script ran (CSP allows /static/app.js) and offers printing
    audit = page.inner_text("#result table.audit")
    assert "hold from 2027-01-10 (neutropenia, grade 3)" in audit
    assert "Take one 5 mg capsule by mouth every day" in page.inner_text("#result table.fills")
    screenshot(page, tmp_path, "web-calendar.png")
    page.locator("#dispensing").scroll_into_view_if_needed()
    screenshot(page, tmp_path, "web-dispensing.png")
    assert page.problems == []  # no CSP violation, no failed resource, no script error

    # Print: the printable calendar alone, to PDF: a cover page then one page per month.
    with page.context.expect_page() as opened:
        page.click("#open-printable")
    printable = opened.value
    printable.wait_for_load_state()
    months = printable.locator("section.month").count()
    assert months == 3  # December, January, February
    pdf = printable.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF-")
    try:
        import io

        from pypdf import PdfReader

        pages = len(PdfReader(io.BytesIO(pdf)).pages)
    except ImportError:  # pragma: no cover
        pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages == 1 + months
    (tmp_path / "web-print.pdf").write_bytes(pdf)
    printable.close()

    # Downloads: each format is the command line's file (PDF where lenasched.formats.pdf is there).
    options = ("--hold", "2027-01-10:neutropenia:3", "--resume", "2027-01-24")
    kinds = ["csv", "json", "ics"] + (["pdf"] if page.locator("#download-pdf").count() else [])
    for kind in kinds:
        with page.expect_download() as download:
            page.click(f"#download-{kind}")
        assert download.value.suggested_filename == f"badoux-2011-{START}.{kind}"
        paper = ("--paper", "a4") if kind == "pdf" else ()  # the server's default paper, whatever the locale
        assert Path(download.value.path()).read_bytes() == cli_bytes(tmp_path, kind, *options, *paper)

    # Bad input: a 400 page with the command line's one-line error, the form as typed.
    page.fill("#f-bsa", "-3")
    with page.expect_response(lambda r: r.url.startswith(server + "/calendar")) as answer:
        page.click("form#plan button[type=submit]")
    assert answer.value.status == 400
    assert page.inner_text("#error .message") == "argument --bsa: '-3' must be a positive number"
    assert page.input_value("#f-bsa") == "-3" and page.input_value("#f-protocol") == "badoux-2011"
    screenshot(page, tmp_path, "web-error.png")
    page.fill("#f-bsa", "")
    page.fill("#f-holds", "2027-02-30:x")
    with page.expect_response(lambda r: r.url.startswith(server + "/calendar")) as answer:
        page.click("form#plan button[type=submit]")
    assert answer.value.status == 400 and "2027-02-30" in page.inner_text("#error .message")
    assert page.problems == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"] * 2


def test_compare_page_with_plot(page: Any, server: str, tmp_path: Path) -> None:
    import_or_unavailable("matplotlib", "the compare plot needs matplotlib: pip install -e '.[plot]'")
    page.goto(server + "/compare")
    for pid in ("badoux-2011", "chen-2011", "ferrajoli-2008"):
        page.check(f"input[name=protocol][value='{pid}']")
    page.fill("#f-horizon", "24w")
    page.click("form#compare button[type=submit]")
    page.wait_for_selector("#result img.plot")
    deadline = time.monotonic() + 60  # polled from here: wait_for_function would eval a string, which the CSP forbids
    while not page.eval_on_selector("img.plot", "img => img.complete && img.naturalWidth > 0"):
        assert time.monotonic() < deadline, "the plot did not load"
        time.sleep(0.1)
    assert page.eval_on_selector("img.plot", "img => img.naturalWidth") > 500
    table = page.inner_text("table.comparison")
    assert "cumulative mg, day 168" in table and "ferrajoli-2008" in table
    assert page.problems == []
    page.locator("#result").scroll_into_view_if_needed()
    screenshot(page, tmp_path, "web-compare.png", full_page=True)

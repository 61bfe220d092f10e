"""``--format pdf``: the printable HTML calendar (:func:`lenasched.formats.html.to_html`) printed by Chromium.

**Why Chromium, not WeasyPrint.** Both were tried on every bundled protocol (6 cycles, A4 and Letter).
WeasyPrint 70 installs from PyPI (it needs the system's Pango) and gets the page count right, but it
renders the page's flexbox lines wrongly: the "Name ____ Date of birth ____" blanks are drawn through
the words ("Date of birth" comes out struck through, and so does the lead-in row of the cover's table),
the running header wraps, and a six-month calendar takes 7-18 s. The HTML's one-page-per-month layout
is tested in Chromium (``tests/test_browser.py`` prints every bundled protocol and counts the pages),
and Chromium is what a pharmacist prints from; so ``--format pdf`` runs the same engine headless
(``--print-to-pdf``) rather than a second layout engine that would need its own stylesheet and tests.
Chromium is a maintained browser from the system's packages (Debian ``chromium``), not a Python
package, so there is no pip extra: the binary is looked for as ``LENASCHED_CHROMIUM`` (a path), then
``chromium``, ``chromium-browser``, ``google-chrome``, ``google-chrome-stable``, ``msedge`` on ``PATH``.
Without one, the error says so in one line and points to ``--format html``.

**How it is run.** Headless, with a throw-away profile in a temporary folder, on a ``file://`` copy of
the page; every host name resolves to nothing (``--host-resolver-rules``) and background networking,
component updates and sync are off, so nothing is fetched (the page fetches nothing either: no fonts,
scripts or images). ``--no-pdf-header-footer`` leaves out the browser's date, title and URL lines; the
paper size comes from the page's ``@page`` rule (``--paper``). The sandbox is off (``--no-sandbox``):
it protects a browser from hostile web pages, this page is lenasched's own, script-free and offline,
and the sandbox cannot start as root or in many containers.

**Fonts.** Chromium's PDF writer (Skia) embeds every font it uses as a subset (``FontFile2``); the page
asks for the system's sans-serif fonts, so which font is embedded depends on the machine's fontconfig.

**Deterministic bytes.** The same page printed twice by the same Chromium build on the same machine
gives the same bytes once two things are fixed: the ``/CreationDate`` and ``/ModDate`` of the document
information (the time of printing) are blanked out with spaces of the same length, so the cross-reference
offsets stay valid (both entries are optional), and the ids of the tagged structure tree (``node`` plus
a DOM counter that differs from run to run) are renumbered in order (same width, same order, so the
sorted ``/IDTree`` stays sorted). The structure tree is kept: it is what screen readers read. Another
Chromium version or other fonts give other bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from lenasched.errors import OutputError

__all__ = ["CHROMIUM_NAMES", "TIMEOUT_S", "find_chromium", "html_to_pdf", "normalise_pdf"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "msedge")
TIMEOUT_S = 180


def find_chromium() -> str | None:
    """The Chromium (or Chrome) binary to print with: ``LENASCHED_CHROMIUM`` if set, else the first on PATH."""
    explicit = os.environ.get("LENASCHED_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, *, chromium: str | None = None, timeout: float = TIMEOUT_S) -> bytes:
    """Print a self-contained HTML page to PDF with headless Chromium; bytes normalised by :func:`normalise_pdf`."""
    binary = chromium or find_chromium()
    if binary is None:
        hint = (
            f"LENASCHED_CHROMIUM={os.environ['LENASCHED_CHROMIUM']} is not a file"
            if os.environ.get("LENASCHED_CHROMIUM")
            else "install Chromium (Debian: apt-get install chromium) or set LENASCHED_CHROMIUM to its path"
        )
        raise OutputError(
            f"--format pdf needs Chromium or Google Chrome to print the calendar, and none was found ({hint}); "
            "or write --format html and print it from a browser"
        )
    with tempfile.TemporaryDirectory(prefix="lenasched-pdf-") as folder:
        page = Path(folder) / "calendar.html"
        page.write_text(html, encoding="utf-8")
        target = Path(folder) / "calendar.pdf"
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={Path(folder) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise OutputError(f"{binary} did not finish printing the calendar in {timeout:.0f} s") from None
        except OSError as exc:
            raise OutputError(f"cannot run {binary} to print the calendar: {exc.strerror or exc}") from None
        data = target.read_bytes() if target.is_file() else b""
    if done.returncode != 0 or not data.startswith(b"%PDF-"):
        lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        why = f" ({lines[-1].strip()[:300]})" if lines else ""
        raise OutputError(f"{binary} exited with status {done.returncode} without writing a PDF{why}")
    return normalise_pdf(data)


_DATE_ENTRY = re.compile(rb"/(?:CreationDate|ModDate)\s*\(D:[0-9]{4}[^)]*\)")
_NODE_ID = re.compile(rb"\(node([0-9]{8})\)")


def normalise_pdf(data: bytes) -> bytes:
    """Blank the print time out and renumber the structure ids in order, keeping every byte offset."""
    data = _DATE_ENTRY.sub(lambda m: b" " * len(m.group()), data)
    ranks = {value: rank for rank, value in enumerate(sorted({int(x) for x in _NODE_ID.findall(data)}), start=1)}
    return _NODE_ID.sub(lambda m: b"(node%08d)" % ranks[int(m.group(1))], data)

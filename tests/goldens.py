"""Golden files: rendered output compared byte for byte with a reviewed copy under ``tests/golden/``.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_html.py tests/test_ics.py``,
then review the diff (``git diff tests/golden``) before committing it.
"""

from __future__ import annotations

import difflib
import os
from html.parser import HTMLParser
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"

_BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "header"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "li", "main", "nav", "ol", "p", "section", "table", "tbody"),
        *("td", "tfoot", "th", "thead", "title", "tr", "ul"),
    }
)
_SKIP = frozenset({"style", "script"})


def check_golden(name: str, actual: str | bytes) -> None:
    """Compare ``actual`` with ``tests/golden/<name>``; rewrite the file when UPDATE_GOLDEN is set."""
    path = GOLDEN_DIR / name
    data = actual.encode("utf-8") if isinstance(actual, str) else actual
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(data)
        return
    assert path.is_file(), f"missing golden file {path}; create it with UPDATE_GOLDEN=1 pytest"
    expected = path.read_bytes()
    if data != expected:
        diff = difflib.unified_diff(
            expected.decode("utf-8").splitlines(),
            data.decode("utf-8").splitlines(),
            f"golden/{name}",
            "actual",
            lineterm="",
            n=2,
        )
        shown = "\n".join(list(diff)[:80])
        raise AssertionError(f"output differs from golden/{name} (UPDATE_GOLDEN=1 pytest to accept):\n{shown}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.skipping = 0
        self.cells: dict[str, list[str]] = {}
        self.open_cells: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        if tag in _BLOCKS:
            self.lines.append("")
        if tag == "td":
            self.open_cells.append(dict(attrs).get("data-date"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping -= 1
        if tag in _BLOCKS:
            self.lines.append("")
        if tag == "td" and self.open_cells:
            self.open_cells.pop()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.lines[-1] += data
        if self.open_cells and self.open_cells[-1]:
            self.cells.setdefault(self.open_cells[-1], []).append(data)


def _squash(text: str) -> str:
    return " ".join(text.split())


def html_text(html: str) -> str:
    """The visible text of a page, one block per line (no markup, no CSS), as a reader sees it."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [_squash(line) for line in parser.lines]
    return "\n".join(line for line in lines if line) + "\n"


def day_texts(html: str) -> dict[str, str]:
    """The text of every day box of the month grids, keyed by its ISO date (``data-date``)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return {iso: _squash(" ".join(parts)) for iso, parts in parser.cells.items()}

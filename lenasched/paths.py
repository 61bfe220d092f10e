"""Where bundled data lives: ``lenasched/protocols`` in a wheel, ``protocols/`` in a checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["addons_dir", "protocols_dir"]


def protocols_dir() -> Path:
    """Folder holding the bundled protocol files."""
    packaged = Path(__file__).resolve().parent / "protocols"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "protocols"


def addons_dir() -> Path:
    """Folder holding the bundled add-on modules (``protocols/addons``)."""
    return protocols_dir() / "addons"

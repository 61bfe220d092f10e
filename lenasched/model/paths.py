"""Where bundled data lives: ``lenasched/protocols`` in a wheel, ``protocols/`` in a checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["addons_dir", "protocols_dir"]


def protocols_dir() -> Path:
    """Folder holding the bundled protocol files."""
    package = Path(__file__).resolve().parent.parent  # lenasched/, from lenasched/model/paths.py
    packaged = package / "protocols"
    if packaged.is_dir():
        return packaged
    return package.parent / "protocols"


def addons_dir() -> Path:
    """Folder holding the bundled add-on modules (``protocols/addons``)."""
    return protocols_dir() / "addons"

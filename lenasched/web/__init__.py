"""``lenasched serve``: a local web app for the pharmacy counter (needs ``pip install 'lenasched[web]'``).

- :mod:`lenasched.web.forms` reads the form into the same objects the command line builds (and
  refuses bad input with the command line's own one-line messages); it needs no web framework;
- :mod:`lenasched.web.app` is the Starlette application: server-rendered pages from Jinja2 templates
  (``lenasched/web/templates``), a strict Content-Security-Policy, nothing stored.

Importing this package imports no web framework; :func:`create_app` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lenasched.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from lenasched.web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The one registry of commands: each name maps to the module that registers and runs it.

A command module has ``register(sub)`` (its options) and ``run(args) -> int``. Only the module of the
command being run is imported, so ``lenasched calendar ... --format csv`` loads nothing of ``simulate``
or ``serve``; a plugin-like name (``lenasched.web.command``) keeps the CLI from importing the web app.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["COMMANDS", "command_module"]

COMMANDS: dict[str, str] = {
    "list": "lenasched.cli.list",
    "show": "lenasched.cli.show",
    "calendar": "lenasched.cli.calendar",
    "validate": "lenasched.cli.validate",
    "schema": "lenasched.cli.schema",
    "dispense": "lenasched.cli.dispense",
    "advise": "lenasched.cli.advise",
    "compare": "lenasched.cli.compare",
    "variant": "lenasched.cli.variant",
    "simulate": "lenasched.cli.simulate",
    "sweep": "lenasched.cli.sweep",
    "serve": "lenasched.web.command",
}


def command_module(name: str) -> Any:
    """The module of command ``name`` (imported now, on first use)."""
    return importlib.import_module(COMMANDS[name])

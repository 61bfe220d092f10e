"""The ``lenasched`` command line: parse, run the named command, print errors. Only the CLI prints.

Each command is a module named in :mod:`lenasched.cli.registry`, imported only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from lenasched.cli.options import _FORCE, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, ArgumentParser
from lenasched.cli.registry import COMMANDS, command_module
from lenasched.errors import LenaschedError

__all__ = ["main"]


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv`` (default ``sys.argv[1:]``).

    Only the command that ``argv`` names gets its options (importing just its module); the others are
    registered by name alone. Without a command, or with an option before it (``--help``), every
    command is registered in full, so the top-level help and usage errors list them all.
    """
    parser = ArgumentParser(
        prog="lenasched",
        description="Lenalidomide dosing protocols as exact, auditable day-by-day calendars.",
        epilog="It plans and documents; it does not replace clinical judgement.",
    )
    from lenasched import __version__

    parser.add_argument("--version", action="version", version=f"lenasched {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _named_command(sys.argv[1:] if argv is None else argv, COMMANDS)
    for name in COMMANDS:
        if chosen is None or name == chosen:
            command_module(name).register(sub)
        else:
            sub.add_parser(name)  # by name only: this run does not parse its options
    return parser


def _named_command(argv: Sequence[str], commands: Any) -> str | None:
    """The command ``argv`` runs when its first word names one (and no option comes before it), else None."""
    first = next(iter(argv), None)
    if first is None or first.startswith("-") or first not in commands:
        return None
    return first


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 refused or invalid, 2 usage, 130 interrupted).

    Whatever happens, the user gets one ``error:`` line, never a traceback: an output that cannot be
    written (a full disk, a closed pipe) is said as such, and a defect of lenasched itself is reported
    as an internal error (set ``LENASCHED_TRACEBACK=1`` to see the traceback instead). A command line
    that does not parse is an ``error:`` line and a ``hint:`` line, and ``SystemExit(2)`` as argparse has it.
    """
    streams = _tolerant_streams()
    try:
        parser = _parser(argv)
        if argv is None:
            _complete(parser)
        args = parser.parse_args(argv)
        return _run(args)
    finally:
        streams()


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion, when the shell asks for it and argcomplete is installed (it then exits here).

    Set up with ``pip install argcomplete`` and ``eval "$(register-python-argcomplete lenasched)"``;
    costs nothing otherwise (argcomplete is imported only while completing).
    """
    import os

    if "_ARGCOMPLETE" not in os.environ:
        return
    try:
        import argcomplete  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def _run(args: argparse.Namespace) -> int:
    token = _FORCE.set(bool(getattr(args, "force", False)))
    try:
        command = command_module(args.command).run
        status = int(command(args))
        sys.stdout.flush()  # a full disk or a closed pipe shows here, while it can still be reported
        return status
    except LenaschedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:  # mostly standard output: files are read and written by modules that name them
        if exc.filename is not None:
            print(f"error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_REFUSED
        _silence_stdout()
        import errno

        hint = "free some space, or " if exc.errno == errno.ENOSPC else ""
        reason = exc.strerror or exc
        print(
            f"error: cannot write to standard output: {reason} (hint: {hint}write to a file with --output)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except Exception as exc:  # a defect: say so in one line rather than a traceback
        import os

        if os.environ.get("LENASCHED_TRACEBACK"):
            raise
        print(
            f"error: internal error: {type(exc).__name__}: {exc} (hint: this is a bug in lenasched; please report "
            "it with the command line; LENASCHED_TRACEBACK=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    finally:
        _FORCE.reset(token)


# Characters the terminal's encoding may lack, as ASCII (LANG=C, PYTHONIOENCODING=ascii, a Latin-1 locale).
_ASCII = {
    "→": "->",
    "←": "<-",
    "↔": "<->",
    "×": "x",
    "·": ".",
    "•": "*",
    "–": "-",
    "—": "-",
    "−": "-",
    "…": "...",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "±": "+/-",
    "µ": "u",
    "μ": "u",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "⁰": "^0",
    "¹": "^1",
    "²": "^2",
    "³": "^3",
    "⁴": "^4",
    "⁵": "^5",
    "⁶": "^6",
    "⁷": "^7",
    "⁸": "^8",
    "⁹": "^9",
    "⚑": "!",
    "✓": "v",
    "✗": "x",
}


def _ascii_fallback(error: UnicodeError) -> tuple[str | bytes, int]:
    """Codec error handler: a character the output encoding lacks becomes ASCII ("→" "->", "×10⁹/L"
    "x10^9/L"), else its decomposed letters ("é" "e"), else a backslash escape; never an exception.
    Bytes that came in undecodable (a file name, as surrogate escapes) go out as they came."""
    import unicodedata

    if not isinstance(error, UnicodeEncodeError):
        raise error
    char = error.object[error.start]
    if "\udc80" <= char <= "\udcff":
        return bytes([ord(char) - 0xDC00]), error.start + 1
    if char in _ASCII:
        return _ASCII[char], error.start + 1
    if "\u2500" <= char <= "\u257f":  # box drawing (a table written with -o - to an ASCII stream)
        name = unicodedata.name(char, "")
        ascii_box = (
            "|"
            if "VERTICAL" in name and "HORIZONTAL" not in name
            else "-"
            if "HORIZONTAL" in name and "VERTICAL" not in name
            else "+"
        )
        return ascii_box, error.start + 1
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
    return (plain if plain.strip() else char.encode("ascii", "backslashreplace").decode("ascii")), error.start + 1


def _tolerant_streams() -> Callable[[], None]:
    """Let stdout and stderr write any text in any locale (see ``_ascii_fallback``); returns the undo."""
    import codecs
    import contextlib

    codecs.register_error("lenasched-ascii", _ascii_fallback)
    undo: list[tuple[Any, str]] = []
    for stream in (sys.stdout, sys.stderr):
        errors = getattr(stream, "errors", None)
        if errors in ("strict", "surrogateescape", "backslashreplace") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="lenasched-ascii")
            except (OSError, ValueError):
                continue
            undo.append((stream, errors))

    def restore() -> None:
        for stream, errors in undo:
            # a closed or failed stream keeps the handler: nothing more is written to it
            with contextlib.suppress(OSError, ValueError):
                stream.reconfigure(errors=errors)

    return restore


def _silence_stdout() -> None:
    """After a write to stdout failed, point it at /dev/null so the interpreter's last flush cannot fail again."""
    import contextlib
    import os

    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)

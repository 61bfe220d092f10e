"""``lenasched serve``: the local web app (``pip install 'lenasched[web]'``), see :mod:`lenasched.web`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["LOOPBACK_HOSTS", "is_loopback", "register", "run"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "serve",
        help="a local web app: calendar form, printable calendar, dispensing, audit trail, compare, downloads",
        description="Start the web app on this computer and print its address. It binds 127.0.0.1 (this "
        "computer only) unless --host says otherwise, stores nothing, and stops with Ctrl+C. "
        "Needs: pip install 'lenasched[web]'.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on (default 127.0.0.1; another address lets other computers reach the app: "
        "it has no login and speaks plain HTTP)",
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--open", action="store_true", help="also open the address in the default browser")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is outside 0-65535")
    return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this computer only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    import socket

    from lenasched.errors import LenaschedError, MissingDependencyError

    try:
        import uvicorn

        from lenasched.web.app import create_app
    except ImportError as exc:
        raise MissingDependencyError("lenasched serve", exc.name or "starlette", "web") from None

    host = args.host.strip("[]")
    listener: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, args.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        if listener is not None:
            listener.close()
        hint = " (hint: another program uses this port; try --port 0 for a free one)" if args.port else ""
        raise LenaschedError(f"cannot listen on {host} port {args.port}: {exc.strerror or exc}{hint}") from None
    port = listener.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    loopback = is_loopback(host)
    if not loopback:
        print(
            f"warning: listening on {host}: other computers that reach this one can use the app; it has no login "
            "and patient values travel unencrypted (plain HTTP). Use the default 127.0.0.1 unless you need this.",
            file=sys.stderr,
        )
    allowed = [*LOOPBACK_HOSTS, host] if loopback and ":" not in host else None
    app = create_app(allowed_hosts=allowed)
    print(f"lenasched serve: open {url} in a browser (Ctrl+C stops it; nothing you enter is stored)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
    return 0

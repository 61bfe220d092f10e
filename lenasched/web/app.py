"""The Starlette application behind ``lenasched serve``.

Pages are rendered on the server from the Jinja2 templates in ``lenasched/web/templates`` (autoescaped,
``StrictUndefined``); one small script (``static/app.js``) only adds a "Print" button that prints the
embedded calendar, and everything works without it. Routes:

==========================  ======================================================================
``GET /``                   the calendar form (``?protocol=ID`` chooses a protocol)
``POST /calendar``          the form again with the calendar, the cycle table, the dispensing plan
                            and the audit trail
``POST /print``             the printable calendar alone (``lenasched calendar --format html``)
``POST /download/{kind}``   the calendar as ``csv``, ``json``, ``ics`` or ``pdf`` (the command line's bytes;
                            PDF where ``lenasched.formats.pdf`` finds a Chromium to print with)
``GET /compare``            protocols side by side (``lenasched compare``), with the plot
``GET /compare/plot.png``   the plot itself
``GET /static/...``         the style sheet and the script
==========================  ======================================================================

Patient values travel only in POST bodies, are computed into the answer and forgotten: nothing is
written, logged or cached (``Cache-Control: no-store``). Every answer carries a strict
Content-Security-Policy: no inline script at all; the printable calendar's own ``<style>`` is allowed
by its SHA-256 hash only. Bad input answers 400 with the command line's one-line error; anything
unexpected is logged on the server and answers a plain 500 page without a traceback.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lenasched.errors import LenaschedError
from lenasched.web.forms import (
    DOWNLOADS,
    CompareForm,
    FormError,
    Plan,
    PlanForm,
    compare_protocols,
    dispensing,
    download,
    make_plan,
    pdf_available,
    plot_available,
    plot_png,
    printable,
    protocol_choices,
)

if TYPE_CHECKING:
    from jinja2 import Environment
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from lenasched.model.protocol import Protocol

__all__ = ["BASE_CSP", "MAX_BODY_BYTES", "create_app", "inline_style_sources"]

log = logging.getLogger("lenasched.web")

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 256 * 1024
#: The policy of every page: nothing from elsewhere, no inline script, no plug-ins, forms post here only.
BASE_CSP: dict[str, str] = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'self'",
    "base-uri": "'none'",
}
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


def csp(**extra: Sequence[str]) -> str:
    """The policy as a header value; ``extra`` adds sources to a directive (``style_src=[...]``)."""
    policy = dict(BASE_CSP)
    for name, sources in extra.items():
        key = name.replace("_", "-")
        policy[key] = " ".join([policy.get(key, ""), *sources]).strip()
    return "; ".join(f"{k} {v}" for k, v in policy.items())


def inline_style_sources(document: str) -> list[str]:
    """CSP sources that allow exactly the inline styles of ``document`` (its ``<style>`` blocks and
    ``style=""`` attributes) by their SHA-256 hashes, and nothing else."""

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"

    sources = [digest(m.group(1)) for m in _STYLE_BLOCK.finditer(document)]
    attributes = [
        html.unescape(m.group(1) if m.group(1) is not None else m.group(2)) for m in _STYLE_ATTR.finditer(document)
    ]
    if attributes:
        sources.append("'unsafe-hashes'")  # only for these hashes: attribute styles cannot carry a nonce
        sources.extend(dict.fromkeys(digest(a) for a in attributes))
    return list(dict.fromkeys(sources))


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from lenasched.model.doses import format_dose

    environment = Environment(
        loader=PackageLoader("lenasched.web", "templates"),
        autoescape=True,  # every template, whatever its name: protocol text and form values are never markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["dose"] = format_dose
    return environment


class _Security:
    """ASGI middleware: the security headers on every answer (a route may set its own, wider, CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                from starlette.datastructures import MutableHeaders

                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = csp()
                for name, value in SECURITY_HEADERS.items():
                    if name.lower() not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _CatchAll:
    """ASGI middleware: an unexpected exception is logged here and answered with a plain 500 page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("internal error answering %s %s", scope.get("method", ""), scope.get("path", ""))
            if started:  # too late for a page: close the connection
                raise
            body = _page(
                "error.html.j2",
                status=500,
                title="Internal error",
                message="Something went wrong inside lenasched. Nothing was saved. The details are in the "
                "server's log; please report it with what you entered (without patient names).",
            ).encode("utf-8")
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def _page(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def create_app(
    *,
    extra_protocols: Mapping[str, Protocol] | None = None,
    allowed_hosts: Sequence[str] | None = None,
    default_paper: str | None = None,
) -> Starlette:
    """The web app. ``extra_protocols`` (id → Protocol) are offered beside the bundled ones;
    ``allowed_hosts`` limits the ``Host`` header (``lenasched serve`` sets it on a loopback address,
    against DNS rebinding); ``default_paper`` is ``a4`` or ``letter`` (default: from the locale)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse, RedirectResponse
    from starlette.responses import Response as PlainResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from lenasched.formats.html import default_paper as locale_paper

    extra = dict(extra_protocols or {})
    paper = default_paper or locale_paper()

    def choices() -> list[Any]:
        return protocol_choices(extra)

    def render(template: str, status: int = 200, headers: Mapping[str, str] | None = None, **context: Any) -> Response:
        context.setdefault("pdf", pdf_available())
        return HTMLResponse(_page(template, **context), status_code=status, headers=dict(headers or {}))

    def form_page(form: PlanForm, *, status: int = 200, error: str | None = None, plan: Plan | None = None) -> Response:
        context: dict[str, Any] = {"form": form, "choices": choices(), "error": error, "plan": plan, "paper": paper}
        headers: dict[str, str] = {}
        if plan is not None:
            from lenasched.formats.html import calendar_page

            document = printable(plan)
            fills, fill_error = dispensing(plan)
            context.update(
                printable=document,
                page=calendar_page(
                    plan.calendar,
                    allow_multiple=plan.allow_multiple,
                    remarks=plan.layer.remarks,
                    checks=plan.layer.tests,
                    paper=plan.paper,  # type: ignore[arg-type]  # one of PAPERS, checked by make_plan
                ),
                fills=fills,
                fill_error=fill_error,
                downloads=[*DOWNLOADS, *(["pdf"] if pdf_available() else [])],
            )
            # The embedded calendar (an iframe's srcdoc) is under this page's policy: allow its styles by hash.
            headers["Content-Security-Policy"] = csp(style_src=inline_style_sources(document))
        return render("index.html.j2", status=status, headers=headers, **context)

    async def index(request: Request) -> Response:
        chosen = request.query_params.get("protocol", "")
        return form_page(PlanForm({"protocol": chosen, "paper": paper}))

    async def calendar(request: Request) -> Response:
        form = PlanForm()
        try:
            form = PlanForm.from_pairs(await _form_pairs(request))
            plan = make_plan(form, extra, default_paper=paper)
            return form_page(form, plan=plan)
        except LenaschedError as exc:
            return form_page(form, status=400, error=str(exc))

    async def print_page(request: Request) -> Response:
        form = PlanForm()
        try:
            form = PlanForm.from_pairs(await _form_pairs(request))
            document = printable(make_plan(form, extra, default_paper=paper))
        except LenaschedError as exc:
            return form_page(form, status=400, error=str(exc))
        policy = csp(style_src=inline_style_sources(document))
        return HTMLResponse(document, headers={"Content-Security-Policy": policy})

    async def download_file(request: Request) -> Response:
        kind = request.path_params["kind"]
        form = PlanForm()
        try:
            form = PlanForm.from_pairs(await _form_pairs(request))
            plan = make_plan(form, extra, default_paper=paper)
            if kind == "pdf" and pdf_available():  # seconds of Chromium: off the event loop
                content, media, name = await run_in_threadpool(_pdf, plan)
            else:
                content, media, name = download(plan, kind)
        except LenaschedError as exc:
            return form_page(form, status=400, error=str(exc))
        return PlainResponse(
            content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    def compare_form(request: Request) -> CompareForm:
        return CompareForm.from_pairs(list(request.query_params.multi_items()))

    async def compare_page(request: Request) -> Response:
        context: dict[str, Any] = {"choices": choices(), "result": None, "error": None, "plot": plot_available()}
        form = CompareForm()
        try:
            form = compare_form(request)
            if form.protocols:
                context["result"] = compare_protocols(form, extra)
        except LenaschedError as exc:
            return render("compare.html.j2", status=400, form=form, **{**context, "error": str(exc)})
        return render("compare.html.j2", form=form, **context)

    async def compare_plot(request: Request) -> Response:
        try:
            form = compare_form(request)
            if not form.protocols:
                raise FormError("the following arguments are required: protocols")
            png = await run_in_threadpool(lambda: plot_png(compare_protocols(form, extra)))  # matplotlib: off the loop
        except LenaschedError as exc:
            return PlainResponse(f"error: {exc}\n", status_code=400, media_type="text/plain; charset=utf-8")
        return PlainResponse(png, media_type="image/png")

    async def to_index(request: Request) -> Response:
        return RedirectResponse("/", status_code=303)

    async def no_icon(request: Request) -> Response:
        return PlainResponse(status_code=204)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        words = {404: "Not found", 405: "Method not allowed", 413: "Too large"}.get(status, "Error")
        message = "There is no page at this address." if status == 404 else str(getattr(exc, "detail", words))
        return render("error.html.j2", status=status, title=words, message=message)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/calendar", calendar, methods=["POST"]),
        Route("/calendar", to_index, methods=["GET"]),
        Route("/print", print_page, methods=["POST"]),
        Route("/download/{kind}", download_file, methods=["POST"]),
        Route("/compare", compare_page, methods=["GET"]),
        Route("/compare/plot.png", compare_plot, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(_Security), Middleware(_CatchAll)]
    if allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        middleware.insert(1, Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {HTTPException: http_error}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


async def _form_pairs(request: Request) -> list[tuple[str, str]]:
    """The urlencoded form of a POST, read here (no multipart parser needed); bounded in size."""
    from urllib.parse import parse_qsl

    kind = request.headers.get("content-type", "application/x-www-form-urlencoded").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError(f"send the form as application/x-www-form-urlencoded, not {kind}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise FormError(f"the form is larger than {MAX_BODY_BYTES // 1024} KiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise FormError(f"the form is larger than {MAX_BODY_BYTES // 1024} KiB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormError("the form is not UTF-8 text") from None
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=500)
    except ValueError as exc:
        raise FormError(f"the form cannot be read: {exc}") from None


def _pdf(plan: Plan) -> tuple[bytes, str, str]:
    """The printable calendar as PDF (``lenasched calendar --format pdf``: Chromium prints the same HTML)."""
    from lenasched.formats.pdf import html_to_pdf

    return html_to_pdf(printable(plan)), "application/pdf", f"{plan.protocol.id}-{plan.calendar.start.isoformat()}.pdf"

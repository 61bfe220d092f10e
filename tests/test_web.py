"""``lenasched serve``'s web app through Starlette's TestClient: every route, the command line's errors,
the security headers, escaping, and the ``serve`` command itself. The real-browser test is
tests/test_web_browser.py. Skips, saying so, without ``pip install -e '.[web,test]'``."""

from __future__ import annotations

import html
import re
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web app needs starlette: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="lenasched serve needs uvicorn: pip install -e '.[web]'")
with warnings.catch_warnings():  # an older set-up with httpx (not httpx2) gets a deprecation warning here
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

import lenasched
from lenasched.cli.main import main
from lenasched.model.loader import merge_events
from lenasched.web.app import BASE_CSP, create_app, inline_style_sources
from lenasched.web.forms import CHECKBOXES, FIELDS

START = "2026-12-01"
BASE = {"protocol": "badoux-2011", "start": START, "cycles": "3"}
XSS = "<script>alert('x')</script>"
XSS_PROTOCOL = f"""
schema_version: 1
id: xss-test
title: "Title {XSS}"
setting: "setting <b>bold</b>"
citation: {{title: "source <img src=x onerror=alert(1)>"}}
phases:
  - name: treatment
    cycle_length_days: 28
    cycles: 2
    drugs:
      - {{drug: lenalidomide, dose: 10, days: 1-21}}
"""


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    protocol = lenasched.parse_protocol(XSS_PROTOCOL)
    with TestClient(create_app(extra_protocols={protocol.id: protocol}, default_paper="a4")) as c:
        yield c


def message(page: str) -> str:
    """The one-line error a page shows."""
    found = re.search(r'<span class="message">(.*?)</span>', page, re.S)
    assert found is not None, page[:2000]
    return html.unescape(found.group(1))


def cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The command line's one-line error for ``argv`` (argparse's or lenasched's), without its prefix."""
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse: "lenasched calendar: error: argument --start: ..."
        status = int(exc.code or 0)
    assert status != 0
    last = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("hint: ")][-1]
    return re.sub(r"^(lenasched \w+: )?error: ", "", last)


def assert_secure_headers(response: Any) -> None:
    policy = response.headers["content-security-policy"]
    for name, value in BASE_CSP.items():
        if name != "style-src":
            assert f"{name} {value}" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "*" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


# ---------------------------------------------------------------------------------------------------
# Pages


def test_form_lists_every_protocol_with_setting_and_source(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert_secure_headers(r)
    assert "<script>" not in r.text and "style=" not in r.text  # no inline script or style at all
    for pid in lenasched.bundled_ids():
        p = lenasched.get_protocol(pid)
        label = html.escape(f"{p.title} · {p.setting} · {p.citation.short()}")
        assert f'<option value="{pid}" label="{label}">' in r.text
    assert 'list="protocol-list"' in r.text


def test_protocol_is_chosen_from_the_address(client: TestClient) -> None:
    r = client.get("/", params={"protocol": "chen-2011"})
    assert 'name="protocol" list="protocol-list" value="chen-2011"' in r.text


def test_calendar_page_shows_calendar_cycles_dispensing_and_audit(client: TestClient) -> None:
    form = {**BASE, "holds": "2027-01-10:neutropenia:3", "resumes": "2027-01-24", "market": "us", "paper": "letter"}
    r = client.post("/calendar", data=form)
    assert r.status_code == 200, r.text[:3000]
    calendar = lenasched.expand(
        lenasched.get_protocol("badoux-2011"),
        date(2026, 12, 1),
        cycles=3,
        events=merge_events(
            None,
            [
                ("h", {"kind": "hold", "date": "2027-01-10", "reason": "neutropenia", "grade": "3"}),
                ("r", {"kind": "resume", "date": "2027-01-24"}),
            ],
        ),
    )
    text = html.unescape(r.text)
    assert 'id="calendar-frame"' in r.text and "srcdoc=" in r.text
    assert "Letter, landscape" in text  # the paper chosen reaches the printable calendar
    for m in calendar.modifications:  # the audit trail
        assert f"<td>{m.date.isoformat()}</td>" in r.text and m.effect in text
    assert "Dispensing plan" in text and "Take one 5 mg capsule by mouth every day, 2026-12-01 to 2026-12-28" in text
    assert "5 → 2.5 mg, days 1-12, 27-28" in text  # the cycle table
    for kind in ("csv", "json", "ics"):
        assert f'formaction="/download/{kind}"' in r.text
    assert 'formaction="/print"' in r.text


def test_embedded_calendar_styles_are_allowed_by_hash_only(client: TestClient) -> None:
    r = client.post("/calendar", data=BASE)
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', r.text, re.S).group(1))  # type: ignore[union-attr]
    assert srcdoc.startswith("<!DOCTYPE html>") and "Treatment calendar" in srcdoc
    policy = r.headers["content-security-policy"]
    style = re.search(r"style-src ([^;]*)", policy).group(1)  # type: ignore[union-attr]
    assert style.split() == ["'self'", *inline_style_sources(srcdoc)]
    assert "'sha256-" in style and "unsafe-inline" not in style


def test_print_answers_the_command_lines_printable_calendar(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = client.post("/print", data={**BASE, "paper": "a4", "rems": "1"})
    assert r.status_code == 200
    out = tmp_path / "cal.html"
    argv = ["calendar", "badoux-2011", "--start", START, "--cycles", "3", "--format", "html", "--paper", "a4"]
    assert main([*argv, "--rems", "-o", str(out)]) == 0
    assert r.text == out.read_text(encoding="utf-8")
    assert_secure_headers(r)
    assert inline_style_sources(r.text)[0] in r.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("csv", []),
        ("json", ["--rems"]),
        ("ics", ["--reminder", "08:00", "--tz", "Europe/Rome"]),
    ],
)
def test_downloads_are_the_command_lines_bytes(
    client: TestClient, tmp_path: Path, kind: str, options: list[str]
) -> None:
    form = {**BASE, "protocol": "label-mm-rd", "delays": "3:7", "labs": "2026-12-20:plt=25"}
    form["market"] = "eu"
    if "--rems" in options:
        form["rems"] = "1"
    if "--reminder" in options:
        form.update(reminder="08:00", tz="Europe/Rome")
    r = client.post(f"/download/{kind}", data=form)
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-disposition"] == f'attachment; filename="label-mm-rd-{START}.{kind}"'
    out = tmp_path / f"cal.{kind}"
    argv = ["calendar", "label-mm-rd", "--start", START, "--cycles", "3", "--format", kind, "--market", "eu"]
    argv += ["--delay", "3:7", "--lab", "2026-12-20:plt=25", *options]
    assert main([*argv, "-o", str(out)]) == 0
    assert r.content == out.read_bytes()


def test_pdf_download_is_the_command_lines_pdf(client: TestClient, tmp_path: Path) -> None:
    pdf = pytest.importorskip("lenasched.formats.pdf", reason="PDF output (lenasched.formats.pdf) is not there")
    if pdf.find_chromium() is None:
        pytest.skip("no Chromium to print the PDF with (apt-get install chromium, or set LENASCHED_CHROMIUM)")
    r = client.post("/download/pdf", data={**BASE, "paper": "letter"})
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="badoux-2011-{START}.pdf"'
    out = tmp_path / "cal.pdf"
    argv = ["calendar", "badoux-2011", "--start", START, "--cycles", "3", "--format", "pdf", "--paper", "letter"]
    assert main([*argv, "-o", str(out)]) == 0
    assert r.content.startswith(b"%PDF-") and r.content == out.read_bytes()


def test_open_ended_protocol_gets_six_cycles_with_a_note(client: TestClient) -> None:
    r = client.post("/calendar", data={"protocol": "label-mcl", "start": START})
    assert r.status_code == 200
    assert "label-mcl continues until progression; showing the first 6 cycles" in r.text


def test_former_id_is_accepted_with_a_note(client: TestClient) -> None:
    r = client.post("/calendar", data={"protocol": "badoux-2011-lo", "start": START, "cycles": "2"})
    assert r.status_code == 200
    assert "is the former id of" in html.unescape(r.text)


def test_renal_and_lab_results_reach_the_page(client: TestClient) -> None:
    form = {**BASE, "protocol": "label-mm-rd", "crcl": "45", "labs": "2026-12-20:plt=25"}
    r = client.post("/calendar", data=form)
    assert r.status_code == 200, message(r.text)
    protocol = lenasched.get_protocol("label-mm-rd")
    from lenasched.engine.renal import RenalFunction
    from lenasched.model.labs import parse_lab_option

    calendar = lenasched.expand(
        protocol,
        date(2026, 12, 1),
        cycles=3,
        renal=RenalFunction.given(Decimal(45)),
        labs=[parse_lab_option("2026-12-20:plt=25")],
    )
    text = html.unescape(r.text)
    assert calendar.renal is not None and calendar.renal.summary() in text
    assert calendar.modifications and all(m.effect in text for m in calendar.modifications)


# ---------------------------------------------------------------------------------------------------
# Bad input: 400 with the command line's own one-line error.

BAD: list[dict[str, str]] = [
    {"start": "2026-13-01"},
    {"protocol": "nope"},
    {"bsa": "-3"},
    {"bsa": "9"},
    {"height": "170"},
    {"cycles": "0"},
    {"until": "2027-03-01"},
    {"holds": "2027-02-30:x"},
    {"resumes": "2027-01-24:often"},
    {"delays": "3"},
    {"labs": "2027-01-18:plt=lots"},
    {"market": "mars"},
    {"paper": "a3"},
    {"crcl": "45", "market": "eu"},
    {"irregular_cycles": "1"},
    {"reminder": "25:00"},
]


def cli_argv(form: dict[str, str]) -> list[str]:
    """``lenasched calendar`` with the options a form stands for (list fields: one option per line)."""
    argv = ["calendar", form["protocol"], "--start", form["start"]]
    for name, option in FIELDS.items():
        if name not in ("protocol", "start") and form.get(name):
            for line in form[name].splitlines():
                argv += [option, line]
    return argv + [option for name, option in CHECKBOXES.items() if form.get(name)]


@pytest.mark.parametrize("fields", BAD, ids=["{}={}".format(*next(iter(f.items()))) for f in BAD])
def test_bad_input_answers_400_with_the_command_lines_error(
    client: TestClient, capsys: pytest.CaptureFixture[str], fields: dict[str, str]
) -> None:
    form = {**BASE, **fields}
    r = client.post("/calendar", data=form)
    assert r.status_code == 400
    assert_secure_headers(r)
    expected = cli_error(cli_argv(form), capsys)
    assert message(r.text) == expected
    assert "\n" not in expected and "Traceback" not in r.text
    assert 'value="' + html.escape(form["protocol"]) + '"' in r.text  # the form comes back as typed


def test_body_sized_protocol_needs_a_bsa(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    r = client.post("/calendar", data={"protocol": "badoux-2013-lr", "start": START, "cycles": "2"})
    assert r.status_code == 400
    assert message(r.text) == cli_error(["calendar", "badoux-2013-lr", "--start", START, "--cycles", "2"], capsys)


def test_missing_fields_and_bad_requests(client: TestClient) -> None:
    r = client.post("/calendar", data={**BASE, "protocol": "../../etc/passwd"})  # the web app reads no files
    assert r.status_code == 400 and message(r.text).startswith("unknown protocol id '../../etc/passwd'; known ids:")
    r = client.post("/calendar", data={"start": START})
    assert r.status_code == 400 and message(r.text) == "the following arguments are required: protocol"
    r = client.post("/calendar", data={"protocol": "badoux-2011"})
    assert r.status_code == 400 and message(r.text) == "the following arguments are required: --start"
    r = client.post("/calendar", content=b"protocol=x", headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 400 and "application/x-www-form-urlencoded" in message(r.text)
    r = client.post("/calendar", content=b"a=" + b"x" * 300_000)
    assert r.status_code == 400 and "larger than" in message(r.text)
    r = client.post("/calendar", content=b"protocol=\xff\xfe")
    assert r.status_code == 400 and message(r.text) == "the form is not UTF-8 text"
    r = client.post("/download/docx", data=BASE)
    assert r.status_code == 400 and "invalid choice: 'docx'" in message(r.text)
    r = client.post("/print", data={**BASE, "start": "soon"})
    assert r.status_code == 400 and "'soon' is not a date" in message(r.text)


def test_get_calendar_goes_back_to_the_form_and_unknown_pages_are_404(client: TestClient) -> None:
    r = client.get("/calendar", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "There is no page at this address." in r.text
    assert_secure_headers(r)
    r = client.get("/print")
    assert r.status_code == 405
    assert client.get("/favicon.ico").status_code == 204
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/app.js").status_code == 200


# ---------------------------------------------------------------------------------------------------
# Escaping


def test_protocol_text_is_escaped_everywhere(client: TestClient) -> None:
    pages = [
        client.get("/"),
        client.post("/calendar", data={"protocol": "xss-test", "start": START}),
        client.get("/compare", params=[("protocol", "xss-test"), ("protocol", "badoux-2011")]),
    ]
    for r in pages:
        assert r.status_code == 200, r.text[:2000]
        assert "<script>alert" not in r.text and "<img src=x" not in r.text and "<b>bold</b>" not in r.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in r.text or "&amp;lt;script&amp;gt;" in r.text
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', pages[1].text, re.S).group(1))  # type: ignore[union-attr]
    assert "<script>" not in srcdoc and "&lt;script&gt;" in srcdoc  # escaped inside the embedded calendar too


def test_form_values_and_hold_reasons_are_escaped(client: TestClient) -> None:
    r = client.post("/calendar", data={**BASE, "holds": f"2027-01-10:{XSS}:3", "tz": '"><script>x</script>'})
    assert r.status_code == 200, message(r.text)
    assert "<script>alert" not in r.text and "<script>x" not in r.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in r.text  # the reason, in the audit trail
    r = client.post("/calendar", data={**BASE, "protocol": XSS})
    assert r.status_code == 400 and "<script>alert" not in r.text
    assert message(r.text).startswith(f"unknown protocol id {XSS!r}")


# ---------------------------------------------------------------------------------------------------
# Compare


def test_compare_page_table_and_plot(client: TestClient) -> None:
    r = client.get("/compare")
    assert r.status_code == 200 and 'name="protocol" value="badoux-2011"' in r.text
    query: list[tuple[str, str | int | float | bool | None]] = [
        ("protocol", "badoux-2011"),
        ("protocol", "chen-2011"),
        ("horizon", "24w"),
    ]
    r = client.get("/compare", params=query)
    assert r.status_code == 200
    assert_secure_headers(r)
    result = lenasched.compare(
        [lenasched.get_protocol("badoux-2011"), lenasched.get_protocol("chen-2011")], horizon=168
    )
    text = html.unescape(r.text)
    for label, values in result.table():
        assert label in text and all(v in text for v in values)
    assert (
        '<img class="plot" src="/compare/plot.png?protocol=badoux-2011&amp;protocol=chen-2011&amp;horizon=24w"'
        in r.text
    )
    pytest.importorskip("matplotlib")
    png = client.get("/compare/plot.png", params=query)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_compare_bad_input(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    r = client.get("/compare", params=[("protocol", "badoux-2011"), ("horizon", "soon")])
    assert r.status_code == 400
    assert message(r.text) == cli_error(["compare", "badoux-2011", "--horizon", "soon"], capsys)
    r = client.get("/compare", params=[("protocol", "nope")])
    assert r.status_code == 400 and message(r.text).startswith("unknown protocol id 'nope'")
    r = client.get("/compare/plot.png")
    assert r.status_code == 400 and r.text == "error: the following arguments are required: protocols\n"


# ---------------------------------------------------------------------------------------------------
# Never a traceback


def test_unexpected_error_is_a_plain_500_page(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("lenasched.web.app.make_plan", broken)
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        r = c.post("/calendar", data=BASE)
    assert r.status_code == 500
    assert "Internal error" in r.text and "Nothing was saved" in r.text
    assert "Traceback" not in r.text and "secret internal detail" not in r.text and "RuntimeError" not in r.text
    assert_secure_headers(r)
    assert any("internal error answering POST /calendar" in rec.getMessage() for rec in caplog.records)


def test_host_header_is_checked_when_asked() -> None:
    with TestClient(create_app(allowed_hosts=["127.0.0.1", "localhost"]), base_url="http://127.0.0.1") as c:
        assert c.get("/").status_code == 200
        assert c.get("/", headers={"host": "evil.example"}).status_code == 400


# ---------------------------------------------------------------------------------------------------
# The command


def test_import_and_cli_start_up_load_no_web_framework() -> None:
    code = (
        "import sys, lenasched, lenasched.cli.main, lenasched.web, lenasched.web.forms; lenasched.cli.main._parser(); "
        "loaded = [m for m in ('starlette', 'uvicorn', 'httpx', 'jinja2') if m in sys.modules]; print(loaded)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_serve_warns_off_loopback_and_says_a_busy_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    from lenasched.web.command import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")
    ran: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: ran.append(sockets))
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 0
    out = capsys.readouterr()
    assert "warning: listening on 0.0.0.0" in out.err and "no login" in out.err
    assert re.search(r"open http://0\.0\.0\.0:\d+/ in a browser", out.out)
    assert main(["serve", "--port", "0"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and re.search(r"open http://127\.0\.0\.1:\d+/ in a browser", out.out)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1 port {port}: ") and err.count("\n") == 1


def test_serve_without_the_web_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    assert main(["serve", "--port", "0"]) == 1
    err = capsys.readouterr().err
    expected = "lenasched serve needs uvicorn, which is not installed; install it with: pip install 'lenasched[web]'"
    assert err == f"error: {expected}\n"


def test_serve_starts_on_the_printed_address_and_stops_on_ctrl_c() -> None:
    import signal
    import time
    import urllib.error
    import urllib.request

    def get(url: str, **headers: str) -> tuple[int, dict[str, str], str]:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as answer:
                return answer.status, dict(answer.headers.items()), answer.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers.items()), exc.read().decode("utf-8")

    process = subprocess.Popen(
        [sys.executable, "-m", "lenasched", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors = ""
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"open (http://127\.0\.0\.1:\d+/) in a browser", line)
        assert url is not None, line
        for _ in range(100):
            try:
                status, headers, body = get(url.group(1))
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200 and "Dosing calendar" in body
        names = {k.lower() for k in headers}
        assert "content-security-policy" in names and "server" not in names
        status, _, _ = get(url.group(1), Host="attacker.example")
        assert status == 400  # DNS rebinding: only this computer's names are answered
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        errors = process.stderr.read() if process.stderr else ""
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert process.returncode in (0, 130), errors  # 130: the command line's answer to Ctrl+C
    assert "Traceback" not in errors

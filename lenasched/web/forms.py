"""What the web app's forms mean: the same objects, checks and one-line errors as the command line.

A form is read into an ``argparse.Namespace`` shaped like the parsed options of ``lenasched calendar``,
then handed to the very helpers the command uses (``cli._patient``, ``commands._events``,
``commands._pharmacy``), so a value the command line refuses is refused here with the same words.
Values the command line checks in ``argparse`` (a date, a positive number) are checked with the same
converters and said as ``argparse`` says them: ``argument --start: '2026-13-01' is not a date; ...``.

Nothing here imports a web framework; nothing is stored: a form is read, computed and forgotten.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import TYPE_CHECKING, Any, TypeVar

from lenasched.errors import LenaschedError, UnknownProtocolError

if TYPE_CHECKING:
    from lenasched.cli._pharmacy import PharmacyLayer
    from lenasched.design.compare import Comparison
    from lenasched.engine.calendar import Calendar
    from lenasched.model.protocol import Protocol
    from lenasched.pharmacy.dispense import DispensePlan

__all__ = [
    "CHECKBOXES",
    "DOWNLOADS",
    "FIELDS",
    "CompareForm",
    "FormError",
    "Plan",
    "PlanForm",
    "ProtocolChoice",
    "compare_protocols",
    "dispensing",
    "download",
    "find_protocol",
    "make_plan",
    "protocol_choices",
]

T = TypeVar("T")

#: Text fields of the calendar form, each with the command-line option it stands for.
FIELDS: dict[str, str] = {
    "protocol": "protocol",
    "start": "--start",
    "cycles": "--cycles",
    "until": "--until",
    "bsa": "--bsa",
    "height": "--height",
    "weight": "--weight",
    "bsa_formula": "--bsa-formula",
    "crcl": "--crcl",
    "market": "--market",
    "paper": "--paper",
    "holds": "--hold",
    "resumes": "--resume",
    "delays": "--delay",
    "no_escalation": "--no-escalation",
    "stop": "--stop",
    "labs": "--lab",
    "reminder": "--reminder",
    "tz": "--tz",
}
#: Tick boxes of the calendar form, with their options.
CHECKBOXES: dict[str, str] = {
    "dialysis": "--dialysis",
    "rems": "--rems",
    "irregular_cycles": "--irregular-cycles",
    "allow_multiple": "--allow-multiple-capsules",
}
#: Download formats: (media type, file suffix). PDF joins when lenasched.formats.pdf is there.
DOWNLOADS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
    "ics": ("text/calendar; charset=utf-8", "ics"),
}
#: A form holds at most this many characters in one field, and this many lines in a list field.
MAX_FIELD_CHARS = 4000
MAX_LINES = 200
_CHOICES = {"market": ("us", "eu"), "paper": ("a4", "letter"), "bsa_formula": ("mosteller", "dubois")}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class FormError(LenaschedError):
    """A form value the command line would refuse while reading its options (said as ``argparse`` says it)."""


@dataclass(frozen=True)
class PlanForm:
    """The calendar form as typed: text by field name (shown again as it was) and the ticked boxes."""

    values: Mapping[str, str] = field(default_factory=dict)
    ticked: frozenset[str] = frozenset()

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> PlanForm:
        values: dict[str, str] = {}
        ticked: set[str] = set()
        for name, value in pairs:
            if name in FIELDS:
                if len(value) > MAX_FIELD_CHARS:
                    raise FormError(f"argument {FIELDS[name]}: more than {MAX_FIELD_CHARS} characters")
                values[name] = value
            elif name in CHECKBOXES and value:
                ticked.add(name)
        return cls(values, frozenset(ticked))

    def get(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def checked(self, name: str) -> bool:
        return name in self.ticked

    def lines(self, name: str) -> list[str]:
        """The non-blank lines of a list field (holds, resumes, delays, labs: one per line)."""
        found = [line.strip() for line in self.values.get(name, "").splitlines() if line.strip()]
        if len(found) > MAX_LINES:
            raise FormError(f"argument {FIELDS[name]}: more than {MAX_LINES} lines")
        return found


@dataclass(frozen=True)
class ProtocolChoice:
    """One entry of the searchable protocol list."""

    id: str
    title: str
    setting: str
    source: str


def protocol_choices(extra: Mapping[str, Protocol] | None = None) -> list[ProtocolChoice]:
    """The bundled protocols (and ``extra`` ones), with setting and source, for the list to choose from."""
    from lenasched.model.registry import bundled_ids, get_protocol

    protocols = [get_protocol(pid) for pid in bundled_ids()] + list((extra or {}).values())
    return [ProtocolChoice(p.id, p.title, p.setting, p.citation.short()) for p in protocols]


def find_protocol(name: str, extra: Mapping[str, Protocol] | None = None) -> tuple[Protocol, str | None]:
    """A bundled protocol by id or former id (never a file path), or one of ``extra``; and the alias note."""
    from lenasched.model.registry import alias_note, bundled_ids, get_protocol

    name = name.strip()
    if not name:
        raise FormError("the following arguments are required: protocol")
    if extra and name in extra:
        return extra[name], None
    if _ID.fullmatch(name) is None:  # a path or something odder: the web app reads no files
        import difflib

        known = (*bundled_ids(), *(extra or {}))
        raise UnknownProtocolError(name, difflib.get_close_matches(name, known, n=3, cutoff=0.5), known)
    return get_protocol(name), alias_note(name)


def _typed(option: str, text: str, convert: Callable[[str], T]) -> T:
    """``convert`` as argparse would call it, its complaint said as argparse says it."""
    try:
        return convert(text)
    except argparse.ArgumentTypeError as exc:
        raise FormError(f"argument {option}: {exc}") from None


def _choice(form: PlanForm, name: str, default: str) -> str:
    value = form.get(name) or default
    if value not in _CHOICES[name]:
        raise FormError(_argparse_complaint(FIELDS[name], value, choices=_CHOICES[name]))
    return value


def _argparse_complaint(option: str, value: str, **spec: Any) -> str:
    """What argparse says of ``option value`` with ``spec`` (e.g. an invalid choice), in this Python's words."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument(option, **spec)
    try:
        parser.parse_args([option, value])
    except argparse.ArgumentError as exc:
        return str(exc)
    return f"argument {option}: invalid value: {value!r}"  # pragma: no cover - only called for refused values


@dataclass(frozen=True)
class Plan:
    """A computed calendar and what goes with it; lives for one request."""

    form: PlanForm
    protocol: Protocol
    calendar: Calendar
    layer: PharmacyLayer
    notes: tuple[str, ...]
    allow_multiple: bool
    paper: str
    reminder: time | None
    tz: str | None


def namespace(form: PlanForm) -> argparse.Namespace:
    """The form as ``lenasched calendar``'s parsed options (values converted and checked as argparse does)."""
    from lenasched.cli.options import parse_clock, parse_date, parse_decimal, positive_int

    def optional(name: str, convert: Callable[[str], T]) -> T | None:
        text = form.get(name)
        return _typed(FIELDS[name], text, convert) if text else None

    start = form.get("start")
    if not start:
        raise FormError("the following arguments are required: --start")
    cycles, until = optional("cycles", positive_int), optional("until", parse_date)
    if cycles is not None and until is not None:
        raise FormError("argument --until: not allowed with argument --cycles")
    stop = form.get("stop")
    return argparse.Namespace(
        start=_typed("--start", start, parse_date),
        cycles=cycles,
        until=until,
        bsa=optional("bsa", parse_decimal),
        height=optional("height", parse_decimal),
        weight=optional("weight", parse_decimal),
        bsa_formula=_choice(form, "bsa_formula", "mosteller"),
        crcl=optional("crcl", parse_decimal),
        age=None,
        scr=None,
        sex=None,
        scr_unit="mg/dL",
        dialysis=form.checked("dialysis"),
        renal_column=None,
        allow_implausible=[],
        market=_choice(form, "market", "us"),
        events=None,
        hold=form.lines("holds"),
        resume=form.lines("resumes"),
        delay=form.lines("delays"),
        no_escalation=form.lines("no_escalation"),
        stop=stop or None,
        lab=form.lines("labs"),
        labs=None,
        rems=form.checked("rems"),
        irregular_cycles=form.checked("irregular_cycles"),
        allow_multiple_capsules=form.checked("allow_multiple"),
        reminder=optional("reminder", parse_clock),
        tz=form.get("tz") or None,
    )


def make_plan(form: PlanForm, extra: Mapping[str, Protocol] | None = None, *, default_paper: str = "a4") -> Plan:
    """Expand the form's protocol as ``lenasched calendar`` would; a ``LenaschedError`` for bad input."""
    from lenasched.cli._pharmacy import apply_pharmacy
    from lenasched.cli.options import DEFAULT_OPEN_CYCLES, calendar_from_args, patient_from_args

    protocol, alias = find_protocol(form.get("protocol"), extra)
    args = namespace(form)
    paper = _choice(form, "paper", default_paper)
    notes = [alias] if alias else []
    cycles, until = args.cycles, args.until
    if protocol.open_ended and cycles is None and until is None:
        cycles = DEFAULT_OPEN_CYCLES
        notes.append(
            f"{protocol.id} continues until progression; showing the first {cycles} cycles "
            "(give a number of cycles or an end date for more)"
        )
    calendar = calendar_from_args(args, protocol, cycles, until, patient=patient_from_args(args))
    layer = apply_pharmacy(args, calendar)
    return Plan(
        form=form,
        protocol=protocol,
        calendar=calendar,
        layer=layer,
        notes=tuple(notes),
        allow_multiple=args.allow_multiple_capsules,
        paper=paper,
        reminder=args.reminder,
        tz=args.tz,
    )


def printable(plan: Plan) -> str:
    """The printable patient calendar (``lenasched calendar --format html``) of the plan."""
    from lenasched.formats.html import to_html

    return to_html(
        plan.calendar,
        allow_multiple=plan.allow_multiple,
        remarks=plan.layer.remarks,
        checks=plan.layer.tests,
        paper=plan.paper,  # type: ignore[arg-type]  # checked against the choices by make_plan
    )


def dispensing(plan: Plan) -> tuple[DispensePlan | None, str | None]:
    """The lenalidomide fills (``lenasched dispense``), or why there are none, in one line."""
    from lenasched.pharmacy.dispense import dispense_plan

    try:
        result = dispense_plan(plan.calendar, allow_multiple=plan.allow_multiple, renal=plan.calendar.renal)
    except LenaschedError as exc:
        return None, str(exc)
    others = tuple(d for d in plan.calendar.drugs if d != result.drug)
    return replace(result, not_dispensed=others), None


def pdf_available() -> bool:
    """Whether ``lenasched.formats.pdf`` is there to offer a PDF download."""
    from importlib.util import find_spec

    return find_spec("lenasched.formats.pdf") is not None


def download(plan: Plan, kind: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the plan in ``kind``: csv, json or ics (the command line's bytes)."""
    if kind not in DOWNLOADS:
        raise FormError(_argparse_complaint("--format", kind, choices=tuple(DOWNLOADS)))
    media, suffix = DOWNLOADS[kind]
    name = f"{_slug(plan.protocol.id)}-{plan.calendar.start.isoformat()}.{suffix}"
    body: str | bytes
    if kind == "csv":
        from lenasched.formats.csv import to_csv

        body = to_csv(plan.calendar)
    elif kind == "json":
        from lenasched.formats.json import to_json

        body = plan.layer.extend_json(to_json(plan.calendar))
    else:
        from lenasched.formats.ics import to_ics

        body = to_ics(
            plan.calendar,
            reminder=plan.reminder,
            tz=plan.tz,
            allow_multiple=plan.allow_multiple,
            remarks=plan.layer.remarks,
            checks=plan.layer.tests,
        )
    return (body.encode("utf-8") if isinstance(body, str) else body), media, name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "calendar"


# ---------------------------------------------------------------------------------------------------
# The compare page.

COMPARE_FIELDS = {"protocol": "protocols", "horizon": "--horizon", "start": "--start"}


@dataclass(frozen=True)
class CompareForm:
    """``lenasched compare A B ... --horizon H``: the ticked protocols and the horizon as typed."""

    protocols: tuple[str, ...] = ()
    horizon: str = ""
    start: str = ""

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[str, str]]) -> CompareForm:
        ids = tuple(dict.fromkeys(v.strip() for k, v in pairs if k == "protocol" and v.strip()))
        if len(ids) > 30:
            raise FormError("argument protocols: more than 30 protocols")
        text = {k: v.strip()[:MAX_FIELD_CHARS] for k, v in pairs if k in ("horizon", "start")}
        return cls(ids, text.get("horizon", ""), text.get("start", ""))

    @property
    def query(self) -> str:
        """The form as a query string (for the plot's address and the links)."""
        from urllib.parse import urlencode

        pairs = [("protocol", p) for p in self.protocols] + [("horizon", self.horizon), ("start", self.start)]
        return urlencode([(k, v) for k, v in pairs if v])


def compare_protocols(form: CompareForm, extra: Mapping[str, Protocol] | None = None) -> Comparison:
    """``lenasched compare`` of the form's protocols; a ``LenaschedError`` for bad input (the command's words)."""
    from lenasched.cli._designer import _horizon, horizon_days
    from lenasched.cli.options import parse_date
    from lenasched.design.compare import DEFAULT_HORIZON_DAYS, compare

    protocols = [find_protocol(name, extra)[0] for name in form.protocols]
    start: date | None = _typed("--start", form.start, parse_date) if form.start else None
    horizon = _typed("--horizon", form.horizon, _horizon) if form.horizon else None
    days = horizon_days(argparse.Namespace(horizon=horizon, days=None, start=start), DEFAULT_HORIZON_DAYS)
    return compare(protocols, horizon=days, start=start)


def plot_png(comparison: Comparison) -> bytes:
    """The comparison's plot (``lenasched compare --plot x.png``) as PNG bytes; needs matplotlib."""
    import io

    from lenasched.design.plot import comparison_series, plot_figure

    figure = plot_figure(comparison_series(comparison), drug=comparison.drug)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def plot_available() -> bool:
    from importlib.util import find_spec

    return find_spec("matplotlib") is not None

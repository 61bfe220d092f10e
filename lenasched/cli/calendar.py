"""``lenasched calendar``: a patient's day-by-day calendar in every format, and the exports."""

from __future__ import annotations

import argparse
import sys
from datetime import time
from decimal import Decimal
from typing import Any

from lenasched.cli.options import (
    UsageError,
    add_output_argument,
    calendar_from_args,
    emit,
    horizon_of,
    parse_clock,
    parse_date,
    parse_decimal,
    patient_from_args,
    positive_int,
    resolve_protocol,
    say_audit,
    whole_number,
)

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    cal = sub.add_parser("calendar", help="expand a protocol into a dated calendar")
    cal.add_argument("protocol", help="bundled id or path to a YAML file")
    cal.add_argument("--start", required=True, type=parse_date, help="date of day 1 (YYYY-MM-DD)")
    horizon = cal.add_mutually_exclusive_group()
    horizon.add_argument("--cycles", type=positive_int, help="number of cycles (across phases)")
    horizon.add_argument("--until", type=parse_date, help="last date to show (YYYY-MM-DD)")
    cal.add_argument(
        "--format",
        choices=("table", "csv", "json", "html", "pdf", "ics", "fhir", "nonmem", "sdtm-ex"),
        default="table",
    )
    cal.add_argument(
        "--paper",
        choices=("a4", "letter"),
        help="html, pdf: paper size, landscape (default: letter where the locale's country uses it, else a4)",
    )
    add_output_argument(cal, "write to this file (atomically; - for standard output) instead of the terminal")
    cal.add_argument(
        "--market",
        choices=("us", "eu"),
        default="us",
        help="where the capsules are dispensed: the strengths differ (the EU also has 7.5 mg); default us",
    )
    cal.add_argument(
        "--reminder", type=parse_clock, metavar="HH:MM", help="ics: a daily reminder at this time (with --tz)"
    )
    cal.add_argument("--tz", metavar="ZONE", help="ics: IANA time zone of the reminder, e.g. Europe/Rome")
    cal.add_argument(
        "--previous",
        metavar="OLD.ics",
        help="ics: the file this one replaces: unchanged events keep their SEQUENCE, changed ones get SEQUENCE+1, "
        "dose days no longer in the plan are written as STATUS:CANCELLED",
    )
    cal.add_argument(
        "--stamp",
        metavar="WHEN",
        help="ics: DTSTAMP of new and changed events, a UTC date-time such as 2027-01-15T09:00:00Z "
        "(default: the start date, or 1 s after the latest DTSTAMP of --previous)",
    )
    _add_export_arguments(cal)
    from lenasched.cli._events import add_event_arguments, add_lab_arguments

    add_event_arguments(cal)
    add_lab_arguments(cal)
    body = cal.add_argument_group("patient (for mg/m² and mg/kg doses)")
    body.add_argument("--bsa", type=parse_decimal, help="body-surface area in m²")
    body.add_argument("--height", type=parse_decimal, help="height in cm (with --weight: BSA is computed)")
    body.add_argument("--weight", type=parse_decimal, help="weight in kg")
    body.add_argument("--bsa-formula", choices=("mosteller", "dubois"), default="mosteller")
    from lenasched.cli._pharmacy import add_multiple_argument, add_rems_arguments, add_renal_arguments

    add_multiple_argument(cal)
    add_renal_arguments(cal, with_weight=False)
    add_rems_arguments(cal)


def run(args: argparse.Namespace) -> int:

    if args.format != "ics" and (args.reminder is not None or args.tz is not None):
        raise UsageError("--reminder and --tz apply to --format ics only")
    if args.format not in ("html", "pdf") and args.paper is not None:
        raise UsageError("--paper applies to --format html and pdf only")
    if args.format != "ics" and (args.previous is not None or args.stamp is not None):
        raise UsageError("--previous and --stamp apply to --format ics only")
    _check_export_arguments(args)
    protocol = resolve_protocol(args.protocol, plain=True)
    cycles, until = horizon_of(protocol, args, "showing")
    from lenasched.cli._pharmacy import apply_pharmacy

    # the Calendar itself refuses impossible doses (lenasched.engine.safety)
    calendar = calendar_from_args(args, protocol, cycles, until, patient=patient_from_args(args))
    layer = apply_pharmacy(args, calendar)
    if args.format == "pdf":
        from lenasched.formats.html import default_paper, to_html
        from lenasched.formats.pdf import html_to_pdf

        html = to_html(
            calendar,
            allow_multiple=args.allow_multiple_capsules,
            remarks=layer.remarks,
            checks=layer.tests,
            paper=args.paper or default_paper(),
        )
        emit(html_to_pdf(html), args.output)
    elif args.format == "html":
        from lenasched.formats.html import default_paper, to_html

        emit(
            to_html(
                calendar,
                allow_multiple=args.allow_multiple_capsules,
                remarks=layer.remarks,
                checks=layer.tests,
                paper=args.paper or default_paper(),
            ),
            args.output,
        )
    elif args.format == "ics":
        from lenasched.formats.ics import build_ics, parse_stamp

        previous = None
        if args.previous is not None:
            from pathlib import Path

            try:
                previous = Path(args.previous).read_bytes()
            except OSError as exc:
                raise UsageError(f"--previous {args.previous}: cannot read it ({exc.strerror or exc})") from None
        ics = build_ics(
            calendar,
            reminder=args.reminder,
            tz=args.tz,
            allow_multiple=args.allow_multiple_capsules,
            remarks=layer.remarks,
            checks=layer.tests,
            patient_id=args.patient_id,
            previous=previous,
            previous_name=args.previous or "",
            stamp=None if args.stamp is None else parse_stamp(args.stamp),
            warn=lambda message: print(f"warning: {message}", file=sys.stderr),
        )
        emit(ics.data, args.output)
        if previous is not None:
            print(f"note: compared with {args.previous}: {ics.summary()}", file=sys.stderr)
    elif args.format in EXPORT_FORMATS:
        emit(_export(args, calendar), args.output)
        for remark in layer.csv_notes():
            print(f"note: {remark}", file=sys.stderr)
    elif args.format == "csv":
        from lenasched.formats.csv import to_csv

        emit(to_csv(calendar), args.output)
        for remark in layer.csv_notes():
            print(f"note: {remark}", file=sys.stderr)
    elif args.format == "json":
        from lenasched.formats.json import to_json

        emit(layer.extend_json(to_json(calendar)), args.output)
    else:
        from rich.console import Console

        from lenasched.render.terminal import render_calendar

        if args.output:
            import io

            console = Console(record=True, width=120, file=io.StringIO(), color_system=None)
            console.print(render_calendar(calendar), *layer.renderables())
            emit(console.export_text(), args.output)
        else:
            Console().print(render_calendar(calendar), *layer.renderables())
    if args.format in ("csv", *EXPORT_FORMATS):  # data files carry no prose: the one sentence goes to the terminal
        from lenasched.formats.describe import off_label_note

        off_label = off_label_note(protocol)
        if off_label:
            print(f"note: {off_label}", file=sys.stderr)
        say_audit(calendar)
    return 0


EXPORT_FORMATS = ("fhir", "nonmem", "sdtm-ex")


_EXPORT_OPTIONS = {
    "drug": "nonmem",
    "cmt": "nonmem",
    "explicit_doses": "nonmem",
    "fhir_granularity": "fhir",
    "fhir_bundle": "fhir",
}


def _add_export_arguments(cal: argparse.ArgumentParser) -> None:
    group = cal.add_argument_group("exchange formats (fhir, nonmem, sdtm-ex)")
    group.add_argument(
        "--drug",
        metavar="NAME",
        help="nonmem: the drug to write (default lenalidomide; one drug per table: its doses share a compartment)",
    )
    group.add_argument("--cmt", type=positive_int, metavar="N", help="nonmem: dosing compartment CMT (default 1)")
    group.add_argument(
        "--explicit-doses", action="store_true", help="nonmem: one row per dose instead of II/ADDL runs of daily doses"
    )
    group.add_argument(
        "--obs-times",
        metavar="HOURS",
        help="nonmem: observation rows (EVID 0, MDV 0) at these hours from study day 1 00:00, e.g. 2,4,24,672.5",
    )
    group.add_argument(
        "--obs-file", metavar="FILE", help="nonmem: observation times (hours) from a file, one or more per line"
    )
    group.add_argument(
        "--obs-cmt",
        type=lambda text: whole_number(text, 0),
        metavar="N",
        help="nonmem: CMT of observation rows (default 0)",
    )
    group.add_argument(
        "--dose-time", type=parse_clock, metavar="HH:MM", help="nonmem: clock time of every dose (default 00:00)"
    )
    group.add_argument(
        "--domain",
        choices=("ex", "ec", "cm"),
        help="sdtm-ex: EX (default: exposure as applied, with EXADJ), EC (planned, ECMOOD=SCHEDULED), "
        "or CM (prophylaxis and supportive drugs)",
    )
    group.add_argument(
        "--xpt", action="store_true", help="sdtm-ex: SAS transport (XPT v5) instead of CSV (needs pyreadstat)"
    )
    group.add_argument(
        "--fhir-granularity",
        choices=("step", "day"),
        help="fhir: one MedicationRequest per drug and dose step (default) or per administration day",
    )
    group.add_argument(
        "--fhir-bundle",
        choices=("transaction", "collection"),
        help="fhir: a transaction an EHR imports (default; conditional updates) or a plain collection",
    )
    group.add_argument(
        "--patient-id",
        metavar="ID",
        help="fhir: the Patient's identifier (default PLANNED; --subject is its name); "
        "ics: keys the event UIDs (as a digest), so a regenerated calendar updates the same events",
    )
    group.add_argument(
        "--subject",
        metavar="ID",
        help="nonmem ID (a number, default 1), sdtm-ex USUBJID (default PLANNED), fhir subject name",
    )


def _check_export_arguments(args: argparse.Namespace) -> None:
    if args.patient_id is not None and args.format not in ("fhir", "ics"):
        raise UsageError("--patient-id applies to --format fhir and ics only")
    for name, fmt in _EXPORT_OPTIONS.items():
        if getattr(args, name) not in (None, False) and args.format != fmt:
            raise UsageError(f"--{name.replace('_', '-')} applies to --format {fmt} only")
    if args.subject is not None and args.format not in EXPORT_FORMATS:
        raise UsageError("--subject applies to --format " + ", ".join(EXPORT_FORMATS) + " only")
    only = {"obs_times": "nonmem", "obs_file": "nonmem", "obs_cmt": "nonmem", "dose_time": "nonmem"}
    for name, fmt in {**only, "domain": "sdtm-ex", "xpt": "sdtm-ex"}.items():
        if getattr(args, name) not in (None, False) and args.format != fmt:
            raise UsageError(f"--{name.replace('_', '-')} applies to --format {fmt} only")
    if args.obs_times is not None and args.obs_file is not None:
        raise UsageError("give either --obs-times or --obs-file, not both")


def _export(args: argparse.Namespace, calendar: Any) -> str | bytes:
    """fhir, nonmem or sdtm-ex text (sdtm-ex --xpt: bytes); each module documents its choices."""
    if args.format == "fhir":
        from lenasched.formats.fhir import to_fhir

        return to_fhir(
            calendar,
            granularity=args.fhir_granularity or "step",
            subject=args.subject,
            patient_id=args.patient_id,
            bundle=args.fhir_bundle or "transaction",
        )
    if args.format == "sdtm-ex":
        from lenasched.formats.sdtm import DEFAULT_USUBJID, sdtm_domain

        usubjid = DEFAULT_USUBJID if args.subject is None else args.subject
        return sdtm_domain(calendar, args.domain or "ex", usubjid=usubjid, xpt=args.xpt)
    from lenasched.formats.nonmem import DEFAULT_DRUG, parse_obs_times, to_nonmem

    obs_times: tuple[Decimal, ...] = ()
    if args.obs_file is not None:
        from pathlib import Path

        try:
            text = Path(args.obs_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--obs-file {args.obs_file}: cannot read it ({exc})") from None
        obs_times = parse_obs_times(text, source=args.obs_file)
    elif args.obs_times is not None:
        obs_times = parse_obs_times(args.obs_times)
    subject = 1
    if args.subject is not None:
        try:
            subject = positive_int(args.subject)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--subject for nonmem is the numeric ID column: {exc}") from None
    return to_nonmem(
        calendar,
        drug=args.drug or DEFAULT_DRUG,
        subject_id=subject,
        cmt=args.cmt or 1,
        explicit=args.explicit_doses,
        obs_times=obs_times,
        obs_cmt=args.obs_cmt or 0,
        dose_time=args.dose_time or time(0, 0),
    )

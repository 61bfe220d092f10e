"""Command-line options shared by ``calendar`` and ``dispense``: renal function and the REMS layer.

Not a command itself: it adds argument groups and turns parsed arguments into the typed objects of
``lenasched.engine.renal`` and ``lenasched.pharmacy.rems``, so both commands read the options the same way.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lenasched.errors import LenaschedError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from lenasched.engine.calendar import Calendar
    from lenasched.engine.renal import RenalAdjustment, RenalFunction
    from lenasched.pharmacy.rems import PregnancyTest

__all__ = [
    "PharmacyLayer",
    "add_multiple_argument",
    "add_rems_arguments",
    "add_renal_arguments",
    "apply_pharmacy",
    "renal_function",
]


class OptionError(LenaschedError):
    """Renal or REMS options that do not fit together."""


def _number(text: str) -> Decimal:
    from lenasched.cli.options import parse_decimal

    return parse_decimal(text)


def _age(text: str) -> int:
    """A whole number of years; the adult range is checked with the other values (``lenasched.model.plausible``),
    so ``--allow-implausible age`` can accept an age outside it."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of years") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"age {value} must be a positive number of years")
    return value


def add_multiple_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-multiple-capsules",
        action="store_true",
        help="allow a daily lenalidomide dose made of several capsules (e.g. 7.5 mg = 5 + 2.5); flagged, "
        "since the label says substituting lower strengths was not studied",
    )


def add_renal_arguments(parser: argparse.ArgumentParser, *, with_weight: bool) -> None:
    """--crcl, or --age/--weight/--scr/--sex for Cockcroft-Gault; --dialysis; --renal-column."""
    group = parser.add_argument_group(
        "renal function (applies the label's lenalidomide renal dose-adjustment table)",
        "give --crcl, or --age, --weight, --scr and --sex to compute it (Cockcroft-Gault)",
    )
    group.add_argument("--crcl", type=_number, metavar="ML_MIN", help="creatinine clearance in mL/min")
    group.add_argument("--age", type=_age, metavar="YEARS", help="age in years (Cockcroft-Gault)")
    if with_weight:
        group.add_argument("--weight", type=_number, metavar="KG", help="weight in kg (Cockcroft-Gault)")
    group.add_argument("--scr", type=_number, metavar="VALUE", help="serum creatinine (Cockcroft-Gault)")
    group.add_argument("--scr-unit", choices=("mg/dL", "umol/L"), default="mg/dL", help="unit of --scr (default mg/dL)")
    group.add_argument("--sex", choices=("female", "male"), help="sex (Cockcroft-Gault)")
    group.add_argument("--dialysis", action="store_true", help="the patient is on dialysis")
    from lenasched.model.plausible import LIMITS

    parser.add_argument(
        "--allow-implausible",
        action="append",
        default=[],
        choices=sorted(LIMITS),
        metavar="NAME",
        help="accept a patient value outside lenasched's plausibility range for NAME (one of: "
        + ", ".join(sorted(LIMITS))
        + "); repeat for several",
    )
    group.add_argument(
        "--renal-column",
        choices=("mm_mcl", "mds"),
        default=None,
        help="which column of the label's renal table to use (default: the protocol's renal_column, else mm_mcl: "
        "multiple myeloma / mantle cell lymphoma; CLL is not a labelled indication)",
    )


def add_rems_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("REMS (patients who can become pregnant)")
    group.add_argument(
        "--rems",
        action="store_true",
        help="add the pregnancy-test dates the label requires, and a reminder of the protocol's thromboprophylaxis",
    )
    group.add_argument(
        "--irregular-cycles",
        action="store_true",
        help="with --rems: menstrual cycles are irregular (tests every 2 weeks after the first 4 weeks)",
    )


def renal_function(args: argparse.Namespace) -> RenalFunction | None:
    """The patient's renal function from the options, or None when none was given."""
    allow = frozenset(args.allow_implausible)
    cg = {"--age": args.age, "--scr": args.scr, "--sex": args.sex}
    given_cg = [k for k, v in cg.items() if v is not None]
    if args.crcl is None and not given_cg and not args.dialysis:
        return None
    from lenasched.engine.renal import RenalFunction, scr_umol_to_mg_dl
    from lenasched.model.plausible import check_plausible

    if args.crcl is not None:
        if given_cg:
            raise OptionError(f"give either --crcl or the Cockcroft-Gault inputs, not both (got {', '.join(given_cg)})")
        return RenalFunction.given(args.crcl, dialysis=args.dialysis, allow_implausible=allow)
    if given_cg:
        needed = {"--age": args.age, "--weight": args.weight, "--scr": args.scr, "--sex": args.sex}
        missing = [k for k, v in needed.items() if v is None]
        if missing:
            raise OptionError(f"Cockcroft-Gault needs --age, --weight, --scr and --sex (missing: {', '.join(missing)})")
        scr = args.scr if args.scr_unit == "mg/dL" else scr_umol_to_mg_dl(args.scr)
        if args.scr_unit != "mg/dL":  # refused as typed, in µmol/L, not as the converted mg/dL
            check_plausible("scr", scr, allow, shown=f"{args.scr} µmol/L")
        return RenalFunction.from_cockcroft_gault(
            age_years=args.age,
            weight_kg=args.weight,
            scr_mg_dl=scr,
            sex=args.sex,
            dialysis=args.dialysis,
            allow_implausible=allow,
        )
    if args.dialysis:
        return RenalFunction.on_dialysis()
    return None


@dataclass(frozen=True)
class PharmacyLayer:
    """What the renal and REMS options add to a calendar's output."""

    renal: RenalAdjustment | None = None
    tests: tuple[PregnancyTest, ...] = ()
    thrombo: str | None = None

    @property
    def remarks(self) -> tuple[str, ...]:
        """Sentences for the top of a printed calendar."""
        out = [self.renal.summary()] if self.renal is not None else []
        if self.thrombo is not None:
            out.append(self.thrombo)
        return tuple(out)

    def csv_notes(self) -> tuple[str, ...]:
        """What CSV rows cannot carry, said on stderr instead (the rows already hold adjusted doses)."""
        notes = list(self.remarks)
        if self.tests:
            notes.append(
                f"{len(self.tests)} REMS pregnancy test date(s) are not CSV rows; use --format json, html, ics or table"
            )
        return tuple(notes)

    def extend_json(self, text: str) -> str:
        """Calendar JSON with ``renal`` and ``pregnancy_tests`` added (unchanged when neither was asked for)."""
        if self.renal is None and not self.tests and self.thrombo is None:
            return text
        from lenasched.formats.dispense import renal_dict

        data: dict[str, Any] = json.loads(text)
        if self.renal is not None:
            data["renal"] = renal_dict(self.renal)
        if self.thrombo is not None:
            data["thromboprophylaxis"] = self.thrombo
        if self.tests:
            data["pregnancy_tests"] = [
                {
                    "date": t.date.isoformat(),
                    "earliest": t.earliest.isoformat(),
                    "latest": t.latest.isoformat(),
                    "kind": t.kind,
                    "title": t.title,
                    "source": t.source,
                }
                for t in self.tests
            ]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def renderables(self) -> list[RenderableType]:
        """For the terminal: the renal record and a table of pregnancy tests."""
        from rich.table import Table
        from rich.text import Text

        out: list[RenderableType] = []
        if self.renal is not None:
            out.append(Text(self.renal.summary(), style="bold yellow" if self.renal.applies else ""))
        if self.thrombo is not None:
            out.append(Text(self.thrombo))
        if self.tests:
            table = Table(title="REMS pregnancy tests", title_justify="left")
            for name in ("date", "window", "test"):
                table.add_column(name)
            for t in self.tests:
                window = "" if t.earliest == t.latest else f"{t.earliest.isoformat()} – {t.latest.isoformat()}"
                table.add_row(t.date.isoformat(), window, t.title)
            out.append(table)
        return out


def apply_pharmacy(args: argparse.Namespace, calendar: Calendar) -> PharmacyLayer:
    """What the renal rule did (the engine applied it, ``expand(renal=...)``) and the REMS test dates (if asked)."""
    adjustment = calendar.renal
    tests: tuple[PregnancyTest, ...] = ()
    thrombo = None
    if getattr(args, "rems", False):
        from lenasched.pharmacy.rems import pregnancy_tests, thromboprophylaxis_reminder

        tests = pregnancy_tests(calendar, irregular_cycles=args.irregular_cycles)
        thrombo = thromboprophylaxis_reminder(calendar)
    elif getattr(args, "irregular_cycles", False):
        raise OptionError("--irregular-cycles goes with --rems")
    return PharmacyLayer(adjustment, tests, thrombo)

"""Routes of administration: one table of what each route means to every output.

A route was once spelled out in seven tables (printed calendar, day text, instructions, FHIR,
SDTM, comparison, simulation); a new route or a changed word had to be found in all of them.
Here each route is one record: the protocol format's code, the words a patient reads, the SNOMED
CT concept FHIR uses, the CDISC terms SDTM uses, and whether it is given by the care team.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["ROUTES", "Route", "RouteInfo", "is_clinic_route", "route_info"]

Route = Literal["oral", "iv", "sc"]
"""The routes the protocol format accepts (``route:`` of a drug regimen)."""


@dataclass(frozen=True)
class RouteInfo:
    """What one route is called in each output."""

    code: Route
    #: One word for a day's line, e.g. "infusion" ("" for by mouth: the default says nothing).
    word: str
    #: How a patient is told, e.g. "infusion into a vein".
    how: str
    #: The instruction sentence's phrase, e.g. "by intravenous infusion".
    by: str
    #: Given by the care team, so the patient comes to the clinic (unless the regimen says ``setting: home``).
    clinic: bool
    #: SNOMED CT concept of the FHIR example value set SNOMEDCTRouteCodes: (code, display).
    snomed: tuple[str, str]
    #: CDISC CT C66729 Route of Administration term.
    cdisc_route: str
    #: CDISC CT C66726 Pharmaceutical Dosage Form implied by the route ("" when the route does not say).
    cdisc_dose_form: str


ROUTES: dict[str, RouteInfo] = {
    "oral": RouteInfo(
        code="oral",
        word="",
        how="by mouth",
        by="by mouth",
        clinic=False,
        snomed=("26643006", "Oral route"),
        cdisc_route="ORAL",
        cdisc_dose_form="",
    ),
    "iv": RouteInfo(
        code="iv",
        word="infusion",
        how="infusion into a vein",
        by="by intravenous infusion",
        clinic=True,
        snomed=("47625008", "Intravenous route"),
        cdisc_route="INTRAVENOUS",
        cdisc_dose_form="INJECTION",
    ),
    "sc": RouteInfo(
        code="sc",
        word="injection",
        how="injection under the skin",
        by="by subcutaneous injection",
        clinic=True,
        snomed=("34206005", "Subcutaneous route"),
        cdisc_route="SUBCUTANEOUS",
        cdisc_dose_form="INJECTION",
    ),
}

assert set(ROUTES) == set(get_args(Route)), "every route of the format has its record"


def route_info(route: str) -> RouteInfo:
    """The record of ``route``; a route the format does not know is a programming error here."""
    try:
        return ROUTES[route]
    except KeyError:
        raise KeyError(f"unknown route {route!r}; routes: {', '.join(ROUTES)}") from None


def is_clinic_route(route: str) -> bool:
    """Whether a route is given by the care team (the default ``setting`` of a regimen)."""
    info = ROUTES.get(route)
    return info is not None and info.clinic

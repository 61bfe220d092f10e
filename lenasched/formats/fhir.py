"""FHIR R4 export: a Bundle of MedicationRequests, built and validated with ``fhir.resources``.

**Which models.** ``fhir.resources`` 7 and later make R5 the default (``fhir.resources.*``) and
keep the R4 line as ``fhir.resources.R4B`` (FHIR 4.3.0); there is no 4.0.1 package on pydantic 2,
and ``fhir.resources`` 6 (4.0.1 by default) needs pydantic 1, which cannot be installed beside
lenasched (pydantic 2). R4B changed only selected modules (medicinal-product definitions,
evidence, subscriptions) and HL7 states that outside them R4 and R4B have no functional
difference; every element written here (Bundle, MedicationRequest, Dosage, Timing, Quantity,
Period, CodeableConcept, Coding, Reference, Annotation) is the same in R4 (4.0.1), so the file is
valid R4 as well as R4B; a test checks that only those R4 elements are emitted. The extra asks for
``fhir.resources>=8`` (built on ``fhir-core``): 7.x has R4B too, but its R4B models lack the
pydantic 2 API used here (``model_validate``; checked with 7.1.0), and 8.0 and 8.3 give the same bytes.

**What is written.** One ``MedicationRequest`` per drug and dose step (``granularity="step"``): a
step is a stretch of administrations of one drug at one dose, rest days included; each run of
consecutive days inside it is one ``Dosage`` (``sequence`` 1, 2, ...) whose ``Timing`` says
"once a day" (``frequency`` 1 per 1 ``d``) within ``boundsPeriod`` (first and last date), with
``count`` the number of days. With ``granularity="day"``, one request per administration day.
Requests are ``status: draft``, ``intent: plan``: a plan from a published protocol, not an order
anyone may act on; ``subject``, which R4 requires, is a display-only Reference ("planned patient"
unless a name is given). ``doseQuantity`` is the mg given (UCUM ``mg``); a mg/m² or mg/kg prescription
is spelled out in ``Dosage.text``.

**Citing the protocol.** ``instantiatesUri`` is R4's "URL of an externally maintained protocol
adhered to": the publication's DOI, PubMed, web and registry links go there, and ``note`` names
the protocol and citation in words. (``reasonReference`` is for the condition treated, and
``supportingInformation`` would need a resource to point at; R4 has no Citation resource.)

**Stable output.** Resource ids are UUID 5 values of protocol id, start date, drug and step (or
date), so the same calendar gives byte-identical JSON and re-imports update rather than duplicate.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, get_args

from ..calendar import Calendar, DoseDay
from ..describe import DISCLAIMER, off_label_note
from ..doses import format_dose
from ..errors import MissingDependencyError, ScheduleError
from .daytext import dose_text, drug_title
from .intervals import DoseInterval, dose_intervals

if TYPE_CHECKING:
    from fhir.resources.R4B.bundle import Bundle

__all__ = [
    "DEFAULT_SUBJECT",
    "FHIR_NAMESPACE",
    "GRANULARITIES",
    "ROUTE_CODES",
    "UCUM",
    "Granularity",
    "fhir_bundle",
    "resource_id",
    "to_fhir",
]

Granularity = Literal["step", "day"]
GRANULARITIES: tuple[str, ...] = get_args(Granularity)
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
# SNOMED CT route concepts of the FHIR example value set SNOMEDCTRouteCodes.
ROUTE_CODES = {
    "oral": ("26643006", "Oral route"),
    "iv": ("47625008", "Intravenous route"),
    "sc": ("34206005", "Subcutaneous route"),
}
_ROUTE_WORDS = {"oral": "by mouth", "iv": "by intravenous infusion", "sc": "by subcutaneous injection"}
DEFAULT_SUBJECT = "planned patient"
# Fixed namespace for the UUID 5 resource ids: uuid5(NAMESPACE_URL, "urn:lenasched:fhir").
FHIR_NAMESPACE = uuid.UUID("f4f7cc37-c4e0-5538-8f64-6559c76559e1")


def resource_id(*parts: object) -> str:
    """A stable UUID 5 id from the given parts (protocol id, start, drug, step...)."""
    return str(uuid.uuid5(FHIR_NAMESPACE, "|".join(str(p) for p in parts)))


def to_fhir(calendar: Calendar, *, granularity: Granularity = "step", subject: str | None = None) -> str:
    """The calendar as a FHIR R4 Bundle, JSON text (2-space indent, ``\\n`` at the end)."""
    return str(fhir_bundle(calendar, granularity=granularity, subject=subject).model_dump_json(indent=2)) + "\n"


def fhir_bundle(calendar: Calendar, *, granularity: Granularity = "step", subject: str | None = None) -> Bundle:
    """The validated ``fhir.resources.R4B`` Bundle (type ``collection``) of MedicationRequests."""
    if granularity not in GRANULARITIES:
        raise ScheduleError(f"unknown FHIR granularity {granularity!r} (valid: {', '.join(GRANULARITIES)})")
    label = DEFAULT_SUBJECT if subject is None else subject.strip()
    if not label:
        raise ScheduleError("the FHIR subject label is empty")
    try:
        from fhir.resources.R4B.bundle import Bundle
        from fhir.resources.R4B.medicationrequest import MedicationRequest
    except ImportError:
        raise MissingDependencyError("the FHIR export", "fhir.resources", "fhir") from None

    groups: Sequence[Sequence[DoseInterval]]
    if granularity == "step":
        groups = _steps(dose_intervals(calendar.days))
    else:
        groups = [[DoseInterval((day,))] for day in calendar.days]
    entries = []
    numbers: dict[str, int] = {}
    for group in groups:
        drug = group[0].drug
        numbers[drug] = numbers.get(drug, 0) + 1
        step = numbers[drug] if granularity == "step" else group[0].first.isoformat()
        rid = resource_id(calendar.protocol_id, calendar.start.isoformat(), drug, granularity, step)
        request = MedicationRequest.model_validate(_request(calendar, group, rid, label))
        entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": request})
    end = calendar.end.isoformat()
    bundle_id = resource_id(calendar.protocol_id, calendar.start.isoformat(), end, granularity, "bundle")
    return Bundle.model_validate({"resourceType": "Bundle", "id": bundle_id, "type": "collection", "entry": entries})


def _steps(intervals: Sequence[DoseInterval]) -> list[list[DoseInterval]]:
    """Join each drug's consecutive intervals at the same dose into steps, ordered by first date."""
    by_drug: dict[str, list[list[DoseInterval]]] = {}
    for interval in intervals:  # ordered by date, so each drug's intervals arrive in order
        steps = by_drug.setdefault(interval.drug, [])
        if steps and steps[-1][-1].same_dose(interval):
            steps[-1].append(interval)
        else:
            steps.append([interval])
    order = {drug: i for i, drug in enumerate(by_drug)}
    out = [step for steps in by_drug.values() for step in steps]
    out.sort(key=lambda step: (step[0].first, order[step[0].drug]))
    return out


def _request(calendar: Calendar, group: Sequence[DoseInterval], rid: str, subject: str) -> dict[str, Any]:
    protocol = calendar.protocol
    first = group[0].days[0]
    uris = _citation_uris(calendar)
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "plan",
        "medicationCodeableConcept": {"text": first.drug},
        "subject": {"display": subject},
    }
    if uris:
        request["instantiatesUri"] = uris
    request["note"] = [
        {
            "text": f"Planned from protocol {protocol.id}: {protocol.title}. "
            f"Source: {protocol.citation.short()}. {off_label_note(protocol) or ''} {DISCLAIMER}".replace("  ", " ")
        }
    ]
    request["dosageInstruction"] = [_dosage(calendar, i, interval) for i, interval in enumerate(group, start=1)]
    return request


def _dosage(calendar: Calendar, sequence: int, interval: DoseInterval) -> dict[str, Any]:
    day = interval.days[0]
    code, display = ROUTE_CODES[day.route]
    return {
        "sequence": sequence,
        "text": _dosage_text(calendar, interval),
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": interval.first.isoformat(), "end": interval.last.isoformat()},
                "count": len(interval),
                "frequency": 1,
                "period": Decimal(1),
                "periodUnit": "d",
            }
        },
        "route": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": day.route},
        "doseAndRate": [
            {
                "doseQuantity": {
                    "value": Decimal(format_dose(day.dose_mg)),  # "10", not 1E+1 or 10.0
                    "unit": "mg",
                    "system": UCUM,
                    "code": "mg",
                }
            }
        ],
    }


def _dosage_text(calendar: Calendar, interval: DoseInterval) -> str:
    """'Lenalidomide 5 mg by mouth once daily, 2026-12-01 to 2026-12-21 (21 days; cycle 1 days 1-21)'."""
    first, last = interval.days[0], interval.days[-1]
    text = f"{drug_title(first)} {dose_text(first)} {_ROUTE_WORDS[first.route]}"
    if len(interval) == 1:
        return f"{text} once, {first.date.isoformat()} ({_where(calendar, first)})"
    span = f"{_where(calendar, first)} to {_where(calendar, last)}"
    if (first.phase, first.cycle) == (last.phase, last.cycle):
        span = f"{_where(calendar, first, day_word='days')}-{last.cycle_day}"
    return f"{text} once daily, {first.date.isoformat()} to {last.date.isoformat()} ({len(interval)} days; {span})"


def _where(calendar: Calendar, day: DoseDay, *, day_word: str = "day") -> str:
    prefix = f"{day.phase} " if len(calendar.protocol.phases) > 1 else ""
    return f"{prefix}cycle {day.cycle} {day_word} {day.cycle_day}"


_NCT = re.compile(r"^NCT\d{8}$")


def _citation_uris(calendar: Calendar) -> list[str]:
    """Links to the primary publication: DOI, PubMed, its web page, its trial registry record."""
    ref = calendar.protocol.citation
    uris = []
    if ref.doi:
        uris.append(f"https://doi.org/{ref.doi.strip()}")
    if ref.pmid:
        uris.append(f"https://pubmed.ncbi.nlm.nih.gov/{ref.pmid.strip()}/")
    if ref.url:
        uris.append(ref.url.strip())
    if ref.registry and _NCT.match(ref.registry.strip()):
        uris.append(f"https://clinicaltrials.gov/study/{ref.registry.strip()}")
    return [u for u in dict.fromkeys(uris) if u and not any(c.isspace() for c in u)]

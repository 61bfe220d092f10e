"""FHIR R4 export: a transaction Bundle an EHR can import, built and validated with ``fhir.resources``.

**Which models.** ``fhir.resources`` 7 and later make R5 the default (``fhir.resources.*``) and
keep the R4 line as ``fhir.resources.R4B`` (FHIR 4.3.0); there is no 4.0.1 package on pydantic 2,
and ``fhir.resources`` 6 (4.0.1 by default) needs pydantic 1, which cannot be installed beside
lenasched (pydantic 2). R4B changed only selected modules (medicinal-product definitions,
evidence, subscriptions) and HL7 states that outside them R4 and R4B have no functional
difference; every element written here exists in R4 (4.0.1) with the same name and cardinality, so
the file is valid R4 as well as R4B: the tests validate every bundled protocol's bundle with the R4B
models and, where it is available, with HL7's R4 JSON Schema (``fhir.schema.json``, id
``http://hl7.org/fhir/json-schema/4.0``). The extra asks for ``fhir.resources>=8`` (built on
``fhir-core``): 7.x has R4B too, but its R4B models lack the pydantic 2 API used here.

**What is written** (``bundle="transaction"``, the default; ``"collection"`` gives the same resources
without the ``request`` parts):

- one ``Patient``: ``identifier`` = the patient id (``patient_id``, system ``PATIENT_SYSTEM``;
  ``PLANNED`` when none is given), ``name.text`` = the subject label when one is given. Its entry is a
  conditional *create* (``POST Patient``, ``ifNoneExist: identifier=...``): an existing patient is
  found and referenced, never overwritten. Every request's ``subject`` references it.
- one ``PlanDefinition`` for the protocol (``type`` ``clinical-protocol``; ``url``
  ``urn:lenasched:protocol:<id>``; the publication as a ``relatedArtifact`` citation; one action per
  drug), updated in place by ``PUT PlanDefinition?url=...``.
- one ``RequestGroup`` holding the regimen: each request is one of its ``action.resource``; the
  requests carry the same ``groupIdentifier`` and name the PlanDefinition in ``instantiatesCanonical``.
  Why RequestGroup and not CarePlan: in R4 a RequestGroup is "a group of related requests that can be
  used to capture intended activities that have inter-dependencies" and is what applying a
  PlanDefinition (an order set or protocol) produces; CarePlan describes a patient's overall care
  across conditions and providers, and references activities rather than grouping a regimen's
  orders as one unit.
- one ``MedicationRequest`` per drug and dose step (``granularity="step"``): a step is a stretch of
  administrations of one drug at one dose, rest days included; each run of consecutive days inside it
  is one ``Dosage`` (``sequence`` 1, 2, ...) whose ``Timing`` says "once a day" (``frequency`` 1 per
  1 ``d``) within ``boundsPeriod`` (first and last date), with ``count`` the number of days. With
  ``granularity="day"``, one request per administration day. ``intent`` is ``plan``: a plan from a
  published protocol, not an order anyone may act on. ``doseQuantity`` is the mg given (UCUM ``mg``);
  a mg/m² or mg/kg prescription is spelled out in ``Dosage.text``. The medication is coded where a
  code was read in a primary source (``lenasched.formats.fhir_codes``, which lists the sources);
  otherwise it is text only.

**Holds and reductions.** When the calendar has patient events (holds, resumptions at a lower dose,
delays, stops) or a renal ceiling (any entry in ``Calendar.modifications``), the bundle holds the
protocol's plan for the same start, horizon and patient *and* the calendar as applied. A planned request
that the applied calendar still follows stays ``draft``. One it no longer follows keeps its id and gets a
new status with the audit trail's words as ``statusReason.text``: ``on-hold`` when the drug is not given
again after the step starts (a hold not yet resumed), ``stopped`` when a stop ended it, ``cancelled``
when the applied calendar replaced it (a reduction or a delay). A request that only the applied calendar
has (the reduced dose) is new and points at the request it replaces with ``priorPrescription`` (R4's
MedicationRequest has no ``replaces``). A request whose dates changed but not its dose or start (a hold
and a resumption at the same dose inside one step) keeps its id, with the changed dates and a note.

**Ids.** A request's id is a UUID 5 of (patient id, protocol id, granularity, drug, first date of the
step or day, mg given), so an id always means the same drug at the same dose from the same date; a
hold never moves an id onto another dose. The id is also the request's business ``identifier``
(system ``urn:ietf:rfc:3986``, value ``urn:uuid:<id>``) and each transaction entry is a conditional
update on it (``PUT MedicationRequest?identifier=...``), so importing a regenerated bundle updates
the same resources in place: a planned step that a later hold replaced is updated to ``on-hold`` or
``cancelled``, not left behind as a stale order. Limit: a request that only an *earlier* set of events
created (e.g. a reduction that was later entered differently) is not in the new bundle; the importer
must cancel it, or re-export with the same events.

**Citing the protocol.** ``instantiatesUri`` is R4's "URL of an externally maintained protocol
adhered to": the publication's DOI, PubMed, web and registry links go there, and ``note`` names
the protocol and citation in words.

**Stable output.** The same calendar and options give byte-identical JSON.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, get_args

from lenasched.engine.calendar import Calendar, DoseDay, Modification
from lenasched.errors import MissingDependencyError, ScheduleError
from lenasched.formats.daytext import dose_text, drug_title
from lenasched.formats.describe import DISCLAIMER, off_label_note
from lenasched.formats.fhir_codes import codes_for
from lenasched.formats.intervals import DoseInterval, dose_intervals
from lenasched.model.doses import format_dose
from lenasched.model.routes import ROUTES, route_info

if TYPE_CHECKING:
    from fhir.resources.R4B.bundle import Bundle

__all__ = [
    "BUNDLE_TYPES",
    "DEFAULT_PATIENT_ID",
    "DEFAULT_SUBJECT",
    "FHIR_NAMESPACE",
    "GRANULARITIES",
    "IDENTIFIER_SYSTEM",
    "PATIENT_SYSTEM",
    "ROUTE_CODES",
    "UCUM",
    "BundleType",
    "Granularity",
    "fhir_bundle",
    "plan_definition_url",
    "resource_id",
    "to_fhir",
]

Granularity = Literal["step", "day"]
GRANULARITIES: tuple[str, ...] = get_args(Granularity)
BundleType = Literal["transaction", "collection"]
BUNDLE_TYPES: tuple[str, ...] = get_args(BundleType)
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
# Identifier.system for a value that is itself a URI (here urn:uuid:...), as FHIR R4 defines it
IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"
PATIENT_SYSTEM = "urn:lenasched:patient"
PLAN_DEFINITION_TYPES = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
# SNOMED CT route concepts of the FHIR example value set SNOMEDCTRouteCodes (lenasched.model.routes).
ROUTE_CODES = {code: info.snomed for code, info in ROUTES.items()}
DEFAULT_SUBJECT = "planned patient"
DEFAULT_PATIENT_ID = "PLANNED"
# Fixed namespace for the UUID 5 resource ids: uuid5(NAMESPACE_URL, "urn:lenasched:fhir").
FHIR_NAMESPACE = uuid.UUID("f4f7cc37-c4e0-5538-8f64-6559c76559e1")


def resource_id(*parts: object) -> str:
    """A stable UUID 5 id from the given parts (patient, protocol id, drug, first date, dose...)."""
    return str(uuid.uuid5(FHIR_NAMESPACE, "|".join(str(p) for p in parts)))


def plan_definition_url(protocol_id: str) -> str:
    """The canonical URL of a protocol's PlanDefinition."""
    return f"urn:lenasched:protocol:{protocol_id}"


def to_fhir(
    calendar: Calendar,
    *,
    granularity: Granularity = "step",
    subject: str | None = None,
    patient_id: str | None = None,
    bundle: BundleType = "transaction",
) -> str:
    """The calendar as a FHIR R4 Bundle, JSON text (2-space indent, ``\\n`` at the end)."""
    model = fhir_bundle(calendar, granularity=granularity, subject=subject, patient_id=patient_id, bundle=bundle)
    return str(model.model_dump_json(indent=2)) + "\n"


@dataclass(frozen=True, slots=True)
class _Request:
    """One MedicationRequest to write: its dose days, id, status and links."""

    group: tuple[DoseInterval, ...]
    rid: str
    status: str = "draft"
    reason: str = ""
    prior: str = ""
    changes: str = ""

    @property
    def drug(self) -> str:
        return self.group[0].drug

    @property
    def first(self) -> DoseDay:
        return self.group[0].days[0]

    @property
    def last(self) -> DoseDay:
        return self.group[-1].days[-1]


def fhir_bundle(
    calendar: Calendar,
    *,
    granularity: Granularity = "step",
    subject: str | None = None,
    patient_id: str | None = None,
    bundle: BundleType = "transaction",
) -> Bundle:
    """The validated ``fhir.resources.R4B`` Bundle: Patient, PlanDefinition, RequestGroup, MedicationRequests."""
    if granularity not in GRANULARITIES:
        raise ScheduleError(f"unknown FHIR granularity {granularity!r} (valid: {', '.join(GRANULARITIES)})")
    if bundle not in BUNDLE_TYPES:
        raise ScheduleError(f"unknown FHIR bundle type {bundle!r} (valid: {', '.join(BUNDLE_TYPES)})")
    label = DEFAULT_SUBJECT if subject is None else subject.strip()
    if not label:
        raise ScheduleError("the FHIR subject label is empty")
    patient_key = DEFAULT_PATIENT_ID if patient_id is None else patient_id.strip()
    if not patient_key or any(c.isspace() or c == "|" for c in patient_key):
        raise ScheduleError(f"the FHIR patient id {patient_id!r} is empty or has spaces or '|'")
    try:
        from fhir.resources.R4B.bundle import Bundle
        from fhir.resources.R4B.medicationrequest import MedicationRequest
        from fhir.resources.R4B.patient import Patient
        from fhir.resources.R4B.plandefinition import PlanDefinition
        from fhir.resources.R4B.requestgroup import RequestGroup
    except ImportError:
        raise MissingDependencyError("the FHIR export", "fhir.resources", "fhir") from None

    protocol_id = calendar.protocol_id
    patient_uuid = resource_id("Patient", patient_key)
    plan_url = plan_definition_url(protocol_id)
    group_uuid = resource_id(patient_key, protocol_id, calendar.start.isoformat(), granularity, "RequestGroup")
    requests = _requests(calendar, granularity, patient_key)
    subject_ref = {"reference": f"urn:uuid:{patient_uuid}", "display": label}
    group_identifier = {"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{group_uuid}"}
    transaction = bundle == "transaction"

    def entry(resource: Any, rid: str, request: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {"fullUrl": f"urn:uuid:{rid}", "resource": resource}
        if transaction:
            out["request"] = request
        return out

    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_uuid,
        "identifier": [{"system": PATIENT_SYSTEM, "value": patient_key}],
    }
    if subject is not None:
        patient["name"] = [{"text": label}]
    entries = [
        entry(
            Patient.model_validate(patient),
            patient_uuid,
            {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={PATIENT_SYSTEM}|{patient_key}"},
        )
    ]
    plan_uuid = resource_id("PlanDefinition", protocol_id)
    entries.append(
        entry(
            PlanDefinition.model_validate(_plan_definition(calendar, plan_uuid, plan_url)),
            plan_uuid,
            {"method": "PUT", "url": f"PlanDefinition?url={plan_url}"},
        )
    )
    regimen = {
        "resourceType": "RequestGroup",
        "id": group_uuid,
        "identifier": [group_identifier],
        "instantiatesCanonical": [plan_url],
        "groupIdentifier": group_identifier,
        "status": "draft",
        "intent": "plan",
        "subject": subject_ref,
        "note": [{"text": _protocol_note(calendar)}],
        "action": [{"title": _action_title(r), "resource": {"reference": f"urn:uuid:{r.rid}"}} for r in requests],
    }
    entries.append(entry(RequestGroup.model_validate(regimen), group_uuid, _update("RequestGroup", group_uuid)))
    for req in requests:
        resource = _request(calendar, req, subject_ref, group_identifier, plan_url)
        entries.append(
            entry(MedicationRequest.model_validate(resource), req.rid, _update("MedicationRequest", req.rid))
        )
    end = calendar.end.isoformat()
    bundle_id = resource_id(patient_key, protocol_id, calendar.start.isoformat(), end, granularity, bundle, "bundle")
    return Bundle.model_validate({"resourceType": "Bundle", "id": bundle_id, "type": bundle, "entry": entries})


def _update(resource_type: str, rid: str) -> dict[str, str]:
    """A conditional update on the business identifier: re-import updates the same resource."""
    return {"method": "PUT", "url": f"{resource_type}?identifier={IDENTIFIER_SYSTEM}|urn:uuid:{rid}"}


def _groups(days: Sequence[DoseDay], granularity: Granularity) -> list[tuple[DoseInterval, ...]]:
    if granularity == "step":
        return [tuple(step) for step in _steps(dose_intervals(days))]
    return [(DoseInterval((day,)),) for day in days]


def _key(group: Sequence[DoseInterval]) -> tuple[str, str, str, str, str, str]:
    """What a request means: drug, first date, prescribed dose and unit, mg given, route."""
    day = group[0].days[0]
    return (day.drug, day.date.isoformat(), format_dose(day.dose), day.unit, format_dose(day.dose_mg), day.route)


def _plan(calendar: Calendar) -> Calendar:
    """The protocol's plan for the same start, horizon and patient: no events, labs or renal ceiling."""
    from lenasched.engine import expand

    return expand(
        calendar.protocol,
        calendar.start,
        cycles=calendar.cycles,
        until=calendar.until,
        patient=calendar.patient,
        allow=calendar.allow,
    )


def _requests(calendar: Calendar, granularity: Granularity, patient_key: str) -> list[_Request]:
    """The applied calendar's requests and, after patient events, the planned ones it no longer follows."""
    order = {drug: i for i, drug in enumerate(calendar.protocol.drugs)}

    def rid(group: Sequence[DoseInterval]) -> str:
        drug, first, _dose, _unit, mg, _route = _key(group)
        return resource_id(patient_key, calendar.protocol_id, granularity, drug, first, mg)

    applied = _groups(calendar.days, granularity)
    planned = _groups(_plan(calendar).days, granularity) if calendar.modifications else applied
    applied_keys = {_key(g) for g in applied}
    superseded: list[_Request] = []
    for group in planned:
        if _key(group) in applied_keys:
            continue
        drug, first = group[0].drug, group[0].first
        mods = _relevant(calendar.modifications, drug, group[-1].last)
        given_later = any(d.drug == drug and d.date >= first for d in calendar.days)
        if given_later:
            status = "cancelled"
        elif any(m.event.startswith("stop") for m in mods):
            status = "stopped"
        else:
            status = "on-hold"
        reason = "; ".join(f"{m.event}: {m.effect}" for m in mods) or "changed by patient events"
        superseded.append(_Request(group, rid(group), status, reason))
    by_key = {_key(g): g for g in planned}
    every_planned = [_Request(g, rid(g)) for g in planned]
    out = list(superseded)
    for group in applied:
        as_planned = by_key.get(_key(group))
        prior = "" if as_planned is not None else _prior(every_planned, group)
        changes = ""
        if as_planned is not None and _dates(as_planned) != _dates(group):  # e.g. a hold, then the same dose
            first, last = as_planned[0].first, as_planned[-1].last
            mods = [m for m in _relevant(calendar.modifications, group[0].drug, last) if m.date >= first]
            changes = "; ".join(f"{m.event}: {m.effect}" for m in mods) or "dates changed by patient events"
        out.append(_Request(group, rid(group), prior=prior, changes=changes))
    out.sort(key=lambda r: (r.first.date, order.get(r.drug, len(order)), r.status != "draft", r.rid))
    return out


def _dates(group: Sequence[DoseInterval]) -> list[Any]:
    return [d.date for interval in group for d in interval.days]


def _relevant(mods: Sequence[Modification], drug: str, last: Any) -> list[Modification]:
    """The audit entries for ``drug`` (or every drug) dated on or before ``last``."""
    return [m for m in mods if m.drug in (None, drug) and m.date <= last]


def _prior(planned: Sequence[_Request], group: Sequence[DoseInterval]) -> str:
    """The planned request a new (changed) request follows on from: same drug, covering or before its start."""
    first = group[0].first
    same = [r for r in planned if r.drug == group[0].drug and r.first.date <= first]
    covering = [r for r in same if first <= r.last.date]
    chosen = covering or same
    return chosen[-1].rid if chosen else ""


def _action_title(req: _Request) -> str:
    day = req.first
    return f"{drug_title(day)} {format_dose(day.dose_mg)} mg from {day.date.isoformat()}"


def _protocol_note(calendar: Calendar) -> str:
    protocol = calendar.protocol
    return (
        f"Planned from protocol {protocol.id}: {protocol.title}. "
        f"Source: {protocol.citation.short()}. {off_label_note(protocol) or ''} {DISCLAIMER}".replace("  ", " ")
    )


def _plan_definition(calendar: Calendar, plan_uuid: str, url: str) -> dict[str, Any]:
    protocol = calendar.protocol
    resource: dict[str, Any] = {
        "resourceType": "PlanDefinition",
        "id": plan_uuid,
        "url": url,
        "title": protocol.title,
        "type": {"coding": [{"system": PLAN_DEFINITION_TYPES, "code": "clinical-protocol"}]},
        "status": "active",
        "description": f"Protocol {protocol.id}. Source: {protocol.citation.short()}.",
    }
    uris = _citation_uris(calendar)
    artifact: dict[str, Any] = {"type": "citation", "citation": protocol.citation.short()}
    if uris:
        artifact["url"] = uris[0]
    resource["relatedArtifact"] = [artifact]
    resource["action"] = [{"title": name} for name in protocol.drugs]
    return resource


def _medication(drug: str) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    codes = codes_for(drug)
    if codes:
        concept["coding"] = [{"system": c.system, "code": c.code, "display": c.display} for c in codes]
    concept["text"] = drug
    return concept


def _request(
    calendar: Calendar,
    req: _Request,
    subject: dict[str, str],
    group_identifier: dict[str, str],
    plan_url: str,
) -> dict[str, Any]:
    uris = _citation_uris(calendar)
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": req.rid,
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{req.rid}"}],
        "status": req.status,
    }
    if req.reason:
        request["statusReason"] = {"text": req.reason}
    request |= {
        "intent": "plan",
        "medicationCodeableConcept": _medication(req.drug),
        "subject": subject,
        "instantiatesCanonical": [plan_url],
    }
    if uris:
        request["instantiatesUri"] = uris
    request["groupIdentifier"] = group_identifier
    notes = [{"text": _protocol_note(calendar)}]
    changed = sorted({d.modified_by for interval in req.group for d in interval.days if d.modified_by})
    if changed:
        notes.append({"text": "Changed from the protocol plan: " + "; ".join(changed)})
    if req.changes:
        notes.append({"text": "Dates changed by patient events: " + req.changes})
    request["note"] = notes
    request["dosageInstruction"] = [_dosage(calendar, i, interval) for i, interval in enumerate(req.group, start=1)]
    if req.prior:
        request["priorPrescription"] = {"reference": f"urn:uuid:{req.prior}"}
    return request


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
    text = f"{drug_title(first)} {dose_text(first)} {route_info(first.route).by}"
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

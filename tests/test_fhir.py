"""FHIR R4 Bundle: parsed back with fhir.resources, its dosages give exactly the calendar's doses.

Skips (except the missing-extra test) when fhir.resources is not installed: pip install 'lenasched[fhir]'.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from lenasched import Calendar, LenaschedError, ScheduleError, expand
from lenasched.cli.main import main
from lenasched.errors import MissingDependencyError
from lenasched.formats.fhir import to_fhir

from .calendars import PATIENT, START, calendars, sample_calendar
from .goldens import check_golden

try:
    from fhir.resources.R4B.bundle import Bundle
except ImportError:  # the optional extra is not installed
    Bundle = None  # type: ignore[misc, assignment]

needs_fhir = pytest.mark.skipif(Bundle is None, reason="fhir.resources is not installed: pip install 'lenasched[fhir]'")
Given = tuple[date, str, Decimal]

# Every element path the export writes, by resource type. Each exists in FHIR R4 (4.0.1) with this
# name and cardinality, so the R4B models' output is also valid R4; a new element must be checked
# against R4 (test_fhir_regimen.py also validates with HL7's R4 JSON Schema where it is available).
_DOSAGE = (
    "dosageInstruction",
    "dosageInstruction.sequence",
    "dosageInstruction.text",
    "dosageInstruction.timing",
    "dosageInstruction.timing.repeat",
    "dosageInstruction.timing.repeat.boundsPeriod",
    "dosageInstruction.timing.repeat.boundsPeriod.start",
    "dosageInstruction.timing.repeat.boundsPeriod.end",
    "dosageInstruction.timing.repeat.count",
    "dosageInstruction.timing.repeat.frequency",
    "dosageInstruction.timing.repeat.period",
    "dosageInstruction.timing.repeat.periodUnit",
    "dosageInstruction.route",
    "dosageInstruction.route.coding",
    "dosageInstruction.route.coding.system",
    "dosageInstruction.route.coding.code",
    "dosageInstruction.route.coding.display",
    "dosageInstruction.route.text",
    "dosageInstruction.doseAndRate",
    "dosageInstruction.doseAndRate.doseQuantity",
    "dosageInstruction.doseAndRate.doseQuantity.value",
    "dosageInstruction.doseAndRate.doseQuantity.unit",
    "dosageInstruction.doseAndRate.doseQuantity.system",
    "dosageInstruction.doseAndRate.doseQuantity.code",
)
_COMMON = ("resourceType", "id")
_IDENTIFIER = ("identifier", "identifier.system", "identifier.value")
_SUBJECT = ("subject", "subject.reference", "subject.display")
R4_PATHS = {
    "Bundle": {
        "resourceType",
        "id",
        "type",
        "entry",
        "entry.fullUrl",
        "entry.resource",
        "entry.request",
        "entry.request.method",
        "entry.request.url",
        "entry.request.ifNoneExist",
    },
    "Patient": {*_COMMON, *_IDENTIFIER, "name", "name.text"},
    "PlanDefinition": {
        *_COMMON,
        "url",
        "title",
        "type",
        "type.coding",
        "type.coding.system",
        "type.coding.code",
        "status",
        "description",
        "relatedArtifact",
        "relatedArtifact.type",
        "relatedArtifact.citation",
        "relatedArtifact.url",
        "action",
        "action.title",
    },
    "RequestGroup": {
        *_COMMON,
        *_IDENTIFIER,
        *_SUBJECT,
        "instantiatesCanonical",
        "groupIdentifier",
        "groupIdentifier.system",
        "groupIdentifier.value",
        "status",
        "intent",
        "note",
        "note.text",
        "action",
        "action.title",
        "action.resource",
        "action.resource.reference",
    },
    "MedicationRequest": {
        *_COMMON,
        *_IDENTIFIER,
        *_SUBJECT,
        *_DOSAGE,
        "status",
        "statusReason",
        "statusReason.text",
        "intent",
        "medicationCodeableConcept",
        "medicationCodeableConcept.coding",
        "medicationCodeableConcept.coding.system",
        "medicationCodeableConcept.coding.code",
        "medicationCodeableConcept.coding.display",
        "medicationCodeableConcept.text",
        "instantiatesCanonical",
        "instantiatesUri",
        "groupIdentifier",
        "groupIdentifier.system",
        "groupIdentifier.value",
        "note",
        "note.text",
        "priorPrescription",
        "priorPrescription.reference",
    },
}


def paths(value: Any, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            found |= {path} | paths(item, path)
    elif isinstance(value, list):
        for item in value:
            found |= paths(item, prefix)
    return found


def r4_paths_ok(data: Any) -> bool:
    """Every element written is in ``R4_PATHS`` for its resource type."""
    bundle = {p for p in paths({k: v for k, v in data.items() if k != "entry"})}
    bundle |= {f"entry.{p}" for e in data["entry"] for p in paths({k: v for k, v in e.items() if k != "resource"})}
    bundle |= {"entry", "entry.resource"}
    ok = bundle <= R4_PATHS["Bundle"]
    for e in data["entry"]:
        resource = e["resource"]
        extra = paths(resource) - R4_PATHS[resource["resourceType"]]
        assert not extra, (resource["resourceType"], extra)
    return ok


def requests_of(data: Any, *statuses: str) -> list[Any]:
    """The bundle's MedicationRequests (with one of ``statuses``, if given)."""
    out = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    return [r for r in out if not statuses or r["status"] in statuses]


def parse(text: str) -> Any:
    """The export read back through the R4B models (validation), and as plain JSON."""
    assert Bundle is not None
    bundle = Bundle.model_validate_json(text)
    assert bundle.model_dump_json(indent=2) + "\n" == text  # the models keep every byte
    return json.loads(text, parse_float=Decimal)


def given_doses(data: Any) -> list[Given]:
    """Every administration the planned (draft) requests state: each dosage is once daily over its boundsPeriod."""
    out: list[Given] = []
    for request in requests_of(data, "draft"):
        drug = request["medicationCodeableConcept"]["text"]
        for i, dosage in enumerate(request["dosageInstruction"], start=1):
            assert dosage["sequence"] == i
            repeat = dosage["timing"]["repeat"]
            assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (1, 1, "d")
            first = date.fromisoformat(repeat["boundsPeriod"]["start"])
            last = date.fromisoformat(repeat["boundsPeriod"]["end"])
            assert repeat["count"] == (last - first).days + 1
            (dose,) = dosage["doseAndRate"]
            quantity = dose["doseQuantity"]
            assert (quantity["unit"], quantity["system"], quantity["code"]) == ("mg", "http://unitsofmeasure.org", "mg")
            out += [(first + timedelta(days=n), drug, quantity["value"]) for n in range(repeat["count"])]
    return out


def calendar_doses(calendar: Calendar) -> list[Given]:
    return [(d.date, d.drug, d.dose_mg) for d in calendar.days]


@needs_fhir
def test_sample_bundle() -> None:
    cal = sample_calendar()
    text = to_fhir(cal)
    check_golden("export-sample.fhir.json", text)
    data = parse(text)
    assert data["resourceType"] == "Bundle" and data["type"] == "transaction"
    assert [e["resource"]["resourceType"] for e in data["entry"][:3]] == ["Patient", "PlanDefinition", "RequestGroup"]
    requests = requests_of(data)
    # lenalidomide 2.5, 5, 7.5, 10 mg steps, one rituximab and one dexamethasone step
    assert [(r["medicationCodeableConcept"]["text"], len(r["dosageInstruction"])) for r in requests] == [
        ("lenalidomide", 1),
        ("rituximab", 2),
        ("dexamethasone", 8),
        ("lenalidomide", 1),
        ("lenalidomide", 1),
        ("lenalidomide", 2),  # 10 mg: end of induction, then maintenance after the rest week
    ]
    assert {(r["status"], r["intent"]) for r in requests} == {("draft", "plan")}
    ten = requests[-1]["dosageInstruction"]
    assert [d["timing"]["repeat"]["boundsPeriod"] for d in ten] == [
        {"start": "2027-01-12", "end": "2027-01-18"},
        {"start": "2027-01-26", "end": "2027-02-22"},
    ]
    assert ten[1]["text"] == (
        "Lenalidomide 10 mg by mouth once daily, 2027-01-26 to 2027-02-22 (28 days; maintenance cycle 1 days 1-28)"
    )
    ritux = requests[1]["dosageInstruction"][0]
    assert ritux["doseAndRate"][0]["doseQuantity"]["value"] == Decimal("712.5")  # 375 mg/m² x 1.9 m²
    assert "375 mg/m² (712.5 mg) by intravenous infusion" in ritux["text"]
    assert ritux["route"]["coding"][0]["code"] == "47625008"
    assert sorted(given_doses(data)) == sorted(calendar_doses(cal))
    assert r4_paths_ok(data)


@needs_fhir
def test_protocol_is_cited() -> None:
    request = requests_of(json.loads(to_fhir(sample_calendar())))[0]
    assert request["instantiatesUri"] == [
        "https://doi.org/10.1000/test.1",
        "https://pubmed.ncbi.nlm.nih.gov/12345678/",
        "https://clinicaltrials.gov/study/NCT01234567",
    ]
    note = request["note"][0]["text"]
    assert "protocol export-sample" in note and "Doe J et al. Test Journal 2020 (NCT01234567)" in note
    assert "clinical judgement" in note


@needs_fhir
def test_ids_are_stable_and_unique() -> None:
    cal = sample_calendar()
    data = json.loads(to_fhir(cal))
    ids = [e["resource"]["id"] for e in data["entry"]]  # Patient, PlanDefinition, RequestGroup, requests
    assert len(set(ids)) == len(ids)
    assert [e["fullUrl"] for e in data["entry"]] == [f"urn:uuid:{i}" for i in ids]
    assert to_fhir(sample_calendar()) == to_fhir(cal)
    # a request's id is its drug, first date and dose: the same days give the same ids, a later start new ones
    same_days = json.loads(to_fhir(cal.__class__(cal.protocol, START + timedelta(days=1), cal.days, cal.windows)))
    assert [r["id"] for r in requests_of(same_days)] == [r["id"] for r in requests_of(data)]
    later = json.loads(to_fhir(expand(cal.protocol, START + timedelta(days=1), patient=PATIENT)))
    assert not {r["id"] for r in requests_of(data)} & {r["id"] for r in requests_of(later)}


@needs_fhir
def test_one_request_per_day_and_subject() -> None:
    cal = sample_calendar()
    data = parse(to_fhir(cal, granularity="day", subject="Patient 42"))
    requests = requests_of(data)
    assert len(requests) == len(cal.days)
    assert all(len(r["dosageInstruction"]) == 1 for r in requests)
    assert {r["subject"]["display"] for r in requests} == {"Patient 42"}
    assert data["entry"][0]["resource"]["name"] == [{"text": "Patient 42"}]
    assert given_doses(data) == calendar_doses(cal)
    with pytest.raises(ScheduleError, match="granularity 'week'"):
        to_fhir(cal, granularity="week")  # type: ignore[arg-type]
    with pytest.raises(ScheduleError, match="subject label is empty"):
        to_fhir(cal, subject="")


@needs_fhir
@settings(max_examples=40, deadline=None)
@given(calendars())
def test_dosages_give_exactly_the_calendar(calendar: Calendar) -> None:
    for granularity in ("step", "day"):
        data = parse(to_fhir(calendar, granularity=granularity))
        assert sorted(given_doses(data)) == sorted(calendar_doses(calendar))
        assert r4_paths_ok(data)


def test_without_the_extra_it_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("fhir.resources.R4B.bundle", "fhir.resources.R4B.medicationrequest"):
        monkeypatch.setitem(sys.modules, name, None)  # makes the import fail as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'lenasched\[fhir\]'") as info:
        to_fhir(sample_calendar())
    assert isinstance(info.value, LenaschedError)


def test_cli_without_the_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "fhir.resources.R4B.bundle", None)
    assert main(["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "2", "--format", "fhir"]) == 1
    assert "pip install 'lenasched[fhir]'" in capsys.readouterr().err


@needs_fhir
def test_cli_fhir(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "2", "--format", "fhir"]
    assert main([*argv, "--fhir-granularity", "day"]) == 0
    data = parse(capsys.readouterr().out)
    assert len(requests_of(data)) == 56 + 14  # lenalidomide every day, allopurinol the first 14 days
    assert main([*argv[:-1], "json", "--fhir-granularity", "day"]) == 1
    assert "--fhir-granularity applies to --format fhir only" in capsys.readouterr().err

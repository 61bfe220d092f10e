"""Instruction sentences: written from the structured dose, and read back to the same dose for every
day of every bundled protocol."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

import lenasched
from lenasched import DoseDay, Patient
from lenasched.errors import CapsuleError
from lenasched.model.doses import format_unit
from lenasched.model.label import load_label
from lenasched.pharmacy.instructions import capsules_for, instruction

WORD = {"one": 1, "two": 2, "three": 3, "four": 4}
START = date(2026, 12, 1)
PATIENT = Patient(bsa_m2=Decimal("1.9"), weight_kg=Decimal("70"))
STRENGTHS = load_label().strengths

CAPSULES = re.compile(r"^Take (?P<parts>.+?) by mouth(?: \((?P<total>[\d.]+) mg in total\))?$")
PART = re.compile(r"^(?P<n>\w+) (?P<mg>[\d.]+) mg capsules?$")
ORAL = re.compile(
    r"^Take (?P<mg>[\d.]+) mg (?P<drug>[a-z][a-z0-9 -]*) by mouth(?: \((?P<dose>[\d.]+) (?P<unit>\S+)\))?$"
)
CLINIC = re.compile(
    r"^(?P<drug>[A-Z][a-z0-9 -]*) (?P<dose>[\d.]+) (?P<unit>mg|mg/m²|mg/kg)(?: \((?P<mg>[\d.]+) mg\))? "
    r"by (?P<how>intravenous infusion|subcutaneous injection) at the clinic$"
)


def day(drug: str, dose: str, unit: str = "mg", route: str = "oral", mg: str | None = None) -> DoseDay:
    return DoseDay(START, 1, "treatment", 1, 1, drug, Decimal(dose), unit, route, Decimal(mg or dose))


@pytest.mark.parametrize(
    ("dose_day", "sentence"),
    [
        (day("lenalidomide", "5"), "Take one 5 mg capsule by mouth"),
        (day("lenalidomide", "2.5"), "Take one 2.5 mg capsule by mouth"),
        (
            day("rituximab", "375", "mg/m2", "iv", "712.5"),
            "Rituximab 375 mg/m² (712.5 mg) by intravenous infusion at the clinic",
        ),
        (day("rituximab", "1400", "mg", "sc"), "Rituximab 1400 mg by subcutaneous injection at the clinic"),
        (day("prednisone", "20"), "Take 20 mg prednisone by mouth"),
        (day("cyclophosphamide", "250", "mg/m2", "oral", "475"), "Take 475 mg cyclophosphamide by mouth (250 mg/m²)"),
    ],
)
def test_examples(dose_day: DoseDay, sentence: str) -> None:
    assert instruction(dose_day) == sentence


def test_several_capsules_only_when_allowed() -> None:
    with pytest.raises(CapsuleError, match=r"7\.5 mg"):
        instruction(day("lenalidomide", "7.5"))
    assert (
        instruction(day("lenalidomide", "7.5"), allow_multiple=True)
        == "Take one 5 mg capsule and one 2.5 mg capsule by mouth (7.5 mg in total)"
    )
    assert (
        instruction(day("lenalidomide", "30"), allow_multiple=True)
        == "Take two 15 mg capsules by mouth (30 mg in total)"
    )
    assert capsules_for(day("prednisone", "20")) is None


def _read_back(d: DoseDay, sentence: str) -> None:
    """Parse ``sentence`` and check every number in it against the dose day."""
    if d.drug == "lenalidomide" and d.route == "oral":
        m = CAPSULES.match(sentence)
        assert m, sentence
        total = Decimal(0)
        count = 0
        for part in m["parts"].split(" and "):
            p = PART.match(part)
            assert p, sentence
            assert Decimal(p["mg"]) in STRENGTHS, sentence
            total += WORD[p["n"]] * Decimal(p["mg"])
            count += WORD[p["n"]]
        assert total == d.dose_mg, sentence
        assert (m["total"] is not None) == (count > 1), sentence
        if m["total"] is not None:
            assert Decimal(m["total"]) == d.dose_mg
    elif d.route == "oral":
        m = ORAL.match(sentence)
        assert m, sentence
        assert m["drug"] == d.drug and Decimal(m["mg"]) == d.dose_mg, sentence
        if d.unit != "mg":
            assert Decimal(m["dose"]) == d.dose and m["unit"] == format_unit(d.unit), sentence
        else:
            assert m["dose"] is None
    else:
        m = CLINIC.match(sentence)
        assert m, sentence
        assert m["drug"].lower() == d.drug and Decimal(m["dose"]) == d.dose, sentence
        assert m["unit"] == format_unit(d.unit), sentence
        assert m["how"].startswith("intravenous" if d.route == "iv" else "subcutaneous"), sentence
        if d.unit != "mg":
            assert Decimal(m["mg"]) == d.dose_mg, sentence
        else:
            assert m["mg"] is None, sentence


@pytest.mark.parametrize("protocol_id", lenasched.bundled_ids())
def test_every_day_of_every_bundled_protocol_reads_back_to_its_dose(protocol_id: str) -> None:
    cal = lenasched.expand(lenasched.get_protocol(protocol_id), START, cycles=3, patient=PATIENT)
    assert len(cal) > 0
    for d in cal:
        needs_several = d.drug == "lenalidomide" and d.route == "oral" and d.dose_mg not in STRENGTHS
        if needs_several:
            with pytest.raises(CapsuleError):
                instruction(d)
        else:
            assert instruction(d) == instruction(d, allow_multiple=True)
        _read_back(d, instruction(d, allow_multiple=True))

"""Calendars for the exchange-format tests (nonmem, sdtm-ex, fhir): one fixed sample and a hypothesis strategy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

import lenasched
from lenasched import Calendar, Patient, expand, parse_protocol

START = date(2026, 12, 1)
PATIENT = Patient(bsa_m2=Decimal("1.9"), weight_kg=Decimal("70"))

SAMPLE_YAML = """
schema_version: 1
id: export-sample
title: Lenalidomide escalation with rituximab and weekly dexamethasone
setting: test
citation:
  authors: [Doe J, Roe R]
  title: A test regimen
  journal: Test Journal
  year: 2020
  doi: 10.1000/test.1
  pmid: "12345678"
  registry: NCT01234567
phases:
  - name: induction
    cycle_length_days: 28
    cycles: 2
    drugs:
      - drug: lenalidomide
        escalation: {start: 2.5, step: 2.5, cap: 10, every_days: 14}
        days: 1-21
      - drug: rituximab
        route: iv
        unit: mg/m2
        dose: 375
        days: 1
      - drug: dexamethasone
        dose: 40
        days: 1, 8, 15, 22
  - name: maintenance
    cycle_length_days: 28
    cycles: 1
    drugs:
      - drug: lenalidomide
        dose: 10
        days: 1-28
"""


def sample_calendar() -> Calendar:
    return expand(parse_protocol(SAMPLE_YAML), START, patient=PATIENT)


def _regimen(draw: st.DrawFn, drug: str, length: int) -> dict[str, Any]:
    first = draw(st.integers(1, length))
    last = draw(st.integers(first, length))
    days: Any = draw(st.sampled_from([f"{first}-{last}", first, f"{first}, {last}"]))
    dose = draw(st.sampled_from(["2.5", "5", "10", "25"]))
    steps = draw(st.integers(0, 3))
    regimen: dict[str, Any] = {"drug": drug, "days": days}
    if steps:
        step = draw(st.sampled_from(["2.5", "5"]))
        cap = str(Decimal(dose) + steps * Decimal(step))
        regimen["escalation"] = {"start": dose, "step": step, "cap": cap, "every_days": draw(st.integers(1, 40))}
    else:
        regimen["dose"] = dose
    regimen["route"] = draw(st.sampled_from(["oral", "oral", "iv", "sc"])) if drug != "lenalidomide" else "oral"
    if drug != "lenalidomide" and draw(st.booleans()):
        regimen["unit"] = "mg/m2"
    return regimen


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    """Generated calendars: lenalidomide (fixed or escalating) plus up to two other drugs, one or two phases."""
    phases = []
    for name in draw(st.sampled_from([["induction"], ["induction", "maintenance"]])):
        length = draw(st.integers(1, 35))
        drugs = [_regimen(draw, "lenalidomide", length)]
        drugs += [_regimen(draw, other, length) for other in draw(st.sets(st.sampled_from(["rituximab", "dex"])))]
        phases.append({"name": name, "cycle_length_days": length, "cycles": draw(st.integers(1, 4)), "drugs": drugs})
    protocol = lenasched.protocol_from_dict(
        {"schema_version": 1, "id": "gen", "title": "G", "setting": "s", "citation": {"title": "c"}, "phases": phases}
    )
    start = draw(st.dates(date(2000, 1, 1), date(2090, 1, 1)))
    return expand(protocol, start, patient=PATIENT)

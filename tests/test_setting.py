"""Home or clinic: a regimen's ``setting``, else the route (oral at home, iv and sc at the clinic)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import lenasched
from lenasched.design.compare import compare
from lenasched.formats.daytext import is_clinic, summary_text
from lenasched.formats.html import to_html
from lenasched.pharmacy.instructions import instruction

START = date(2027, 1, 4)
GIMEMA = lenasched.get_protocol("gimema-llc0606")
PATIENT = lenasched.Patient(bsa_m2=Decimal("1.9"), weight_kg=Decimal(70))


def _protocol(setting: str | None) -> lenasched.Protocol:
    regimen: dict[str, object] = {
        "drug": "enoxaparin",
        "route": "sc",
        "role": "prophylaxis",
        "dose": 40,
        "days": "1-14",
    }
    if setting is not None:
        regimen["setting"] = setting
    return lenasched.protocol_from_dict(
        {
            "schema_version": 1,
            "id": "x-2024",
            "title": "t",
            "setting": "s",
            "citation": {"title": "t"},
            "phases": [
                {
                    "name": "treatment",
                    "cycle_length_days": 28,
                    "cycles": 2,
                    "drugs": [{"drug": "lenalidomide", "dose": 10, "days": "1-21"}, regimen],
                }
            ],
        }
    )


def test_route_decides_without_a_setting_and_the_setting_wins() -> None:
    for setting, clinic in ((None, True), ("home", False), ("clinic", True)):
        protocol = _protocol(setting)
        cal = lenasched.expand(protocol, START, cycles=1)
        day = cal.for_drug("enoxaparin")[0]
        assert is_clinic(day, protocol) is clinic
        assert is_clinic(day) is True  # without the protocol: the route
        lena = cal.for_drug("lenalidomide")[0]
        assert is_clinic(lena, protocol) is False
        words = instruction(day, clinic=is_clinic(day, protocol))
        assert ("at the clinic" in words) is clinic and ("at home" in words) is (not clinic)
        assert ("clinic injection" in summary_text(day, protocol)) is clinic


def test_clinic_days_in_compare_follow_the_setting() -> None:
    home, clinic = compare([_protocol("home"), _protocol("clinic")], horizon=28).summaries
    assert (home.clinic_days, clinic.clinic_days) == (0, 14)


def test_gimema_enoxaparin_is_at_home_in_print_and_counts() -> None:
    regimen = next(r for p in GIMEMA.phases for r in p.drugs if r.drug == "enoxaparin")
    assert regimen.setting is not None and regimen.setting.value == "home" and regimen.setting.is_assumption
    cal = lenasched.expand(GIMEMA, START, cycles=1, patient=PATIENT)
    html = to_html(cal)
    assert "Enoxaparin: injection under the skin, at home" in html
    (summary,) = compare([GIMEMA], horizon=28, patient=PATIENT).summaries
    iv_days = {d.date for d in cal.days if d.route == "iv" and (d.date - START).days < 28}
    assert summary.clinic_days == len(iv_days)  # the infusion days only, not 14 enoxaparin days

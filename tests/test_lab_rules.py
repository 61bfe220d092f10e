"""Lab results through dose-modification rules: invariants for any series, and the refusals.

The per-row checks against the label's quoted text live in tests/protocols/test_label_*.py; here
the rules are exercised on random series, so an engine that forgets a hold, climbs back above a
reduction or fires a rule silently fails.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lenasched
from lenasched.model.events import PatientEvents
from lenasched.model.labs import LabError, LabResult, parse_lab_option

START = date(2027, 1, 4)
CYCLES = 4
RD = lenasched.get_protocol("label-mm-rd")
LADDER = [Decimal(x) for x in ("25", "20", "15", "10", "5", "2.5")]
LAST = START + timedelta(days=CYCLES * 28 - 1)


def _expand(labs: list[LabResult]) -> lenasched.Calendar:
    return lenasched.expand(RD, START, cycles=CYCLES, labs=labs)


@st.composite
def series(draw: st.DrawFn) -> list[LabResult]:
    """Up to 10 results on distinct dates in the calendar: plt, anc and/or a graded toxicity."""
    offsets = draw(st.lists(st.integers(0, CYCLES * 28 - 1), min_size=1, max_size=10, unique=True))
    out = []
    for offset in sorted(offsets):
        values: dict[str, Decimal] = {}
        if draw(st.booleans()):
            values["plt"] = Decimal(draw(st.sampled_from([10, 25, 29, 30, 31, 42, 150])))
        if draw(st.booleans()):
            values["anc"] = Decimal(draw(st.sampled_from(["0.4", "0.9", "1.0", "1.4", "3"])))
        if draw(st.booleans()):
            values[draw(st.sampled_from(["grade.rash", "grade.diarrhea"]))] = Decimal(draw(st.integers(0, 4)))
        if not values:
            values["plt"] = Decimal(150)
        out.append(LabResult(date=START + timedelta(days=offset), values=values))
    return out


def _held_spans(calendar: lenasched.Calendar) -> list[tuple[date, date | None]]:
    """(hold date, resume date or None) for lenalidomide, from the events the results gave."""
    assert calendar.events is not None
    spans: list[tuple[date, date | None]] = []
    for event in sorted(calendar.events.dated(), key=lambda e: e.date):
        if event.drug != "lenalidomide":
            continue
        if event.kind == "hold":
            spans.append((event.date, None))
        elif event.kind == "resume" and spans and spans[-1][1] is None:
            spans[-1] = (spans[-1][0], event.date)
    return spans


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
def test_no_dose_while_the_rules_hold_it(labs: list[LabResult]) -> None:
    calendar = _expand(labs)
    for held, resumed in _held_spans(calendar):
        for day in calendar.for_drug("lenalidomide"):
            assert not (held <= day.date and (resumed is None or day.date < resumed)), (day, held, resumed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
def test_never_above_the_level_the_rules_allow(labs: list[LabResult]) -> None:
    """Each resume at "lower" costs one level; only a neutropenia-only first drop may return to the start."""
    calendar = _expand(labs)
    allowed = 0  # index into the ladder
    lowered = False
    doses = {d.date: d.dose for d in calendar.for_drug("lenalidomide")}
    assert calendar.events is not None
    resumes = sorted((e for e in calendar.events.dated() if e.kind == "resume"), key=lambda e: e.date)
    for day, dose in sorted(doses.items()):
        for event in [r for r in resumes if r.date <= day]:
            resumes.remove(event)
            if getattr(event, "level", None) == "lower" and getattr(event, "dose", None) is None:
                allowed += 1
                lowered = True
            elif getattr(event, "dose", None) is not None:
                assert not lowered, "a resume at the starting dose after a reduction"
        assert dose <= LADDER[min(allowed, len(LADDER) - 1)], (day, dose, allowed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
def test_the_audit_names_every_rule_that_fired(labs: list[LabResult]) -> None:
    """A result below a threshold appears in the audit: as the hold it caused or as a note on why not."""
    calendar = _expand(labs)
    text = "\n".join(f"{m.date} {m.event} {m.effect}" for m in calendar.modifications)
    for result in labs:
        for rule in RD.dose_modification:
            names = [k for k in result.values if k.startswith("grade.")] if rule.toxicity == "any" else [rule.watches]
            for name in names:
                if name in result.values and rule.fires(result.values[name]):
                    shown = f"{name.removeprefix('grade.')} {'grade ' if rule.toxicity else ''}{result.values[name]}"
                    assert f"rule {rule.id}" in text and shown in text, (result, rule.id, text)


def test_a_series_that_never_recovers_keeps_the_drug_held_to_the_end() -> None:
    calendar = _expand([parse_lab_option("2027-01-10:plt=20"), parse_lab_option("2027-01-17:plt=25")])
    assert [d.date for d in calendar.for_drug("lenalidomide")][-1] == date(2027, 1, 9)
    (still,) = [m for m in calendar.modifications if m.date == date(2027, 1, 17)]
    assert (
        still.event.startswith("plt 25")
        and still.effect == "not recovered yet: lenalidomide stays held since 2027-01-10"
    )
    assert calendar.for_drug("dexamethasone")[-1].date > date(2027, 4, 1)  # the rule names lenalidomide only


def test_below_the_lowest_level_the_drug_stops_recorded() -> None:
    labs = []
    day = START + timedelta(days=1)
    for _ in range(7):  # 25 -> 20 -> 15 -> 10 -> 5 -> 2.5 -> below the floor
        labs.append(LabResult(date=day, values={"plt": Decimal(20)}))
        labs.append(LabResult(date=day + timedelta(days=1), values={"plt": Decimal(50)}))
        day += timedelta(days=2)
    calendar = lenasched.expand(RD, START, cycles=2, labs=labs)
    doses = [d.dose for d in calendar.for_drug("lenalidomide")]
    assert Decimal("2.5") in doses and min(doses) == Decimal("2.5")
    assert any("stopped" in m.effect and "below 2.5" in m.effect for m in calendar.modifications), [
        m.effect for m in calendar.modifications
    ]


def test_a_value_no_rule_reads_is_said_not_applied() -> None:
    calendar = _expand([parse_lab_option("2027-01-10:crcl=20")])
    (entry,) = calendar.modifications
    assert entry.event == "crcl=20" and entry.effect == "no rule of label-mm-rd reads it: not applied"


@pytest.mark.parametrize(
    ("labs", "message"),
    [
        (["2026-12-01:plt=20"], "is before the start (2027-01-04)"),
        (["2027-06-01:plt=20"], "after the calendar's last day (2027-04-25)"),
    ],
)
def test_results_outside_the_calendar_are_refused(labs: list[str], message: str) -> None:
    with pytest.raises(LabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _expand([parse_lab_option(t) for t in labs])


def test_two_results_on_one_date_are_refused() -> None:
    with pytest.raises(LabError, match="two results for 2027-01-10"):
        _expand([parse_lab_option("2027-01-10:plt=20"), parse_lab_option("2027-01-10:anc=2")])


def test_a_protocol_without_rules_says_so() -> None:
    with pytest.raises(LabError, match="badoux-2011 has no dose-modification rules"):
        lenasched.expand(
            lenasched.get_protocol("badoux-2011"), START, cycles=2, labs=[parse_lab_option("2027-01-10:plt=20")]
        )


def test_lab_events_and_entered_events_are_checked_together() -> None:
    """A hand-entered hold on the same drug before the rule's hold: the rule's resume ends it."""
    entered = PatientEvents.model_validate({"events": [{"kind": "hold", "date": "2027-01-08", "reason": "infection"}]})
    with pytest.raises(LabError, match=r"result 2027-01-10: plt=20 gives .*already held since 2027-01-08"):
        lenasched.expand(RD, START, cycles=2, events=entered, labs=[parse_lab_option("2027-01-10:plt=20")])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-01-18", "write DATE:name=value"),
        ("2027-02-30:plt=25", "is not a date"),
        ("2027-01-18:plt", "is not name=value"),
        ("2027-01-18:plt=abc", "is not a number"),
        ("2027-01-18:plt=nan", "is not a number"),
        ("2027-01-18:plt=-1", "outside 0-2000"),
        ("2027-01-18:plt=25000", "25,000/mcL is plt=25"),
        ("2027-01-18:hb=9", "unknown lab value 'hb'"),
        ("2027-01-18:grade.rash=2.5", "a CTCAE grade is a whole number from 0 to 5"),
        ("2027-01-18:plt=25,plt=30", "plt is given twice"),
    ],
)
def test_lab_options_are_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(LabError, match=message):
        parse_lab_option(text)

"""The iCalendar export: golden file, round trip through ``icalendar``, stable UIDs, reminders.

Golden file: tests/golden/calendar.ics (exact bytes, CRLF). Regenerate with
``UPDATE_GOLDEN=1 pytest tests/test_ics.py`` and review the diff.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenasched import (
    Calendar,
    DoseDay,
    LenaschedError,
    Patient,
    ScheduleError,
    expand,
    parse_protocol,
    protocol_from_dict,
)
from lenasched.cli.main import main
from lenasched.formats.daytext import summary_text
from lenasched.formats.ics import event_uid, to_ics

from .goldens import check_golden
from .test_html import PROTOCOL_YAML, START, Check, make_calendar


def parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def all_day_events(ical: icalendar.Calendar) -> list[icalendar.Component]:
    return [e for e in ical.walk("VEVENT") if type(e.decoded("dtstart")) is date]


def timed_events(ical: icalendar.Calendar) -> list[icalendar.Component]:
    return [e for e in ical.walk("VEVENT") if isinstance(e.decoded("dtstart"), datetime)]


def test_golden_file() -> None:
    check_golden("calendar.ics", to_ics(make_calendar()))


def test_same_calendar_same_bytes() -> None:
    assert to_ics(make_calendar()) == to_ics(make_calendar())
    first = to_ics(make_calendar(), reminder=time(8, 0), tz="Europe/Rome")
    assert first == to_ics(make_calendar(), reminder=time(8, 0), tz="Europe/Rome")


def test_round_trip_one_all_day_event_per_drug_and_day() -> None:
    cal = make_calendar()
    data = to_ics(cal)
    assert data.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    events = parse(data).walk("VEVENT")
    assert len(events) == len(cal.days)
    got = {
        (e.decoded("dtstart"), str(e["summary"])): (e.decoded("dtend"), str(e["uid"]), e.decoded("dtstamp"))
        for e in events
    }
    stamp = datetime(2026, 1, 26, tzinfo=timezone.utc)
    for day in cal.days:
        end, uid, dtstamp = got[(day.date, _summary(day))]
        assert end == day.date + timedelta(days=1) and uid == event_uid(cal, day) and dtstamp == stamp
    assert len({str(e["uid"]) for e in events}) == len(events)
    for event in events:  # DATE values: no time, no zone, nothing to shift
        assert event["dtstart"].params.get("VALUE") == "DATE"


def _summary(day: DoseDay) -> str:
    return summary_text(day)


def test_dose_is_in_the_summary_and_the_sentence_in_the_description() -> None:
    events = {(e.decoded("dtstart"), str(e["summary"])): e for e in parse(to_ics(make_calendar())).walk("VEVENT")}
    first = date(2026, 1, 26)
    assert set(s for d, s in events if d == first) == {
        "Lenalidomide 2.5 mg",
        "Rituximab 375 mg/m² (675 mg), clinic infusion",
        "Aspirin 100 mg (prophylaxis)",
    }
    description = str(events[(first, "Lenalidomide 2.5 mg")]["description"])
    assert description.startswith("Take one 2.5 mg capsule by mouth.\nInduction cycle 1 · day 1 (day 1 of treatment).")
    assert "clinical judgement" in description


def test_uids_are_stable_across_horizons_and_change_with_the_start() -> None:
    short = parse(to_ics(make_calendar()))
    protocol = parse_protocol(PROTOCOL_YAML)
    longer = expand(protocol, START, patient=Patient(bsa_m2=Decimal("1.8")), cycles=2)
    assert {str(e["uid"]) for e in parse(to_ics(longer)).walk("VEVENT")} <= {
        str(e["uid"]) for e in short.walk("VEVENT")
    }
    moved = expand(protocol, START + timedelta(days=1), patient=Patient(bsa_m2=Decimal("1.8")))
    assert not {str(e["uid"]) for e in parse(to_ics(moved)).walk("VEVENT")} & {
        str(e["uid"]) for e in short.walk("VEVENT")
    }
    assert (
        event_uid(make_calendar(), make_calendar().days[0])
        == "print-test-2026.20260126.20260126.lenalidomide@lenasched"
    )


def reminder_calendar() -> Calendar:
    # Spans the change to summer time in Rome (2026-03-29), so the UTC time of the reminder moves.
    protocol = parse_protocol(PROTOCOL_YAML)
    return expand(protocol, date(2026, 3, 16), patient=Patient(bsa_m2=Decimal("1.8")))


def test_reminder_is_a_timed_event_in_the_zone_with_an_alarm() -> None:
    cal = reminder_calendar()
    ical = parse(to_ics(cal, reminder=time(8, 0), tz="Europe/Rome"))
    assert len(all_day_events(ical)) == len(cal.days)
    reminders = timed_events(ical)
    assert [e.decoded("dtstart").date() for e in reminders] == sorted({d.date for d in cal.days})
    assert [tz.tz_name for tz in ical.timezones] == ["Europe/Rome"]
    utc_hours = set()
    for event in reminders:
        start = event.decoded("dtstart")
        assert event["dtstart"].params["TZID"] == "Europe/Rome"
        assert start.time() == time(8, 0) and start.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
        utc_hours.add((start.date() >= date(2026, 3, 29), start.astimezone(timezone.utc).hour))
        assert event.decoded("dtend") - start == timedelta(minutes=15)
        (alarm,) = event.walk("VALARM")
        assert str(alarm["action"]) == "DISPLAY" and alarm.decoded("trigger") == timedelta(0)
        assert str(event["summary"]).startswith("Today: ")
    assert utc_hours == {(False, 7), (True, 6)}
    first = reminders[0]
    assert str(first["summary"]) == (
        "Today: Lenalidomide 2.5 mg; Rituximab 375 mg/m² (675 mg), clinic infusion; Aspirin 100 mg (prophylaxis)"
    )
    # the all-day events stay free of time zones
    assert all("TZID" not in e["dtstart"].params for e in all_day_events(ical))


def test_reminder_needs_a_zone_and_a_zone_needs_a_reminder() -> None:
    cal = make_calendar()
    with pytest.raises(ScheduleError, match="needs a time zone"):
        to_ics(cal, reminder=time(8, 0))
    with pytest.raises(ScheduleError, match="without a reminder time"):
        to_ics(cal, tz="Europe/Rome")
    with pytest.raises(ScheduleError, match="did you mean Europe/Rome"):
        to_ics(cal, reminder=time(8, 0), tz="Europe/Rom")
    with pytest.raises(ScheduleError, match="unknown time zone"):
        to_ics(cal, reminder=time(8, 0), tz="../../etc/passwd")


def test_checks_become_events_with_stable_uids() -> None:
    test = Check(date(2026, 1, 14), date(2026, 1, 12), date(2026, 1, 16), "Pregnancy test 1 of 2 before starting")
    data = to_ics(make_calendar(), checks=[test], remarks=["Renal dose adjustment applied: test."])
    events = [e for e in parse(data).walk("VEVENT") if str(e["summary"]) == test.title]
    (event,) = events
    assert event.decoded("dtstart") == date(2026, 1, 14)
    assert str(event["uid"]) == "print-test-2026.20260126.20260114.pregnancy-test-1-of-2-before-starting@lenasched"
    assert "any day from 12 Jan 2026 to 16 Jan 2026" in str(event["description"])
    assert all("Renal dose adjustment applied: test." in str(e["description"]) for e in parse(data).walk("VEVENT"))


def test_a_dose_no_single_capsule_makes_is_refused() -> None:
    yaml_text = PROTOCOL_YAML.replace("sequence: [2.5, 5]", "sequence: [2.5, 7.5]")
    cal = expand(parse_protocol(yaml_text), START, patient=Patient(bsa_m2=Decimal("1.80")))
    with pytest.raises(LenaschedError, match=r"7\.5"):
        to_ics(cal)


def test_cli_ics_to_stdout_keeps_crlf(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    source = tmp_path / "p.yaml"
    source.write_text(PROTOCOL_YAML)
    argv = ["calendar", str(source), "--start", "2026-03-16", "--bsa", "1.8", "--format", "ics"]
    assert main([*argv, "--reminder", "08:00", "--tz", "Europe/Rome"]) == 0
    out = capsysbinary.readouterr().out
    assert out == to_ics(reminder_calendar(), reminder=time(8, 0), tz="Europe/Rome")
    target = tmp_path / "cal.ics"
    assert main([*argv, "--output", str(target)]) == 0
    assert target.read_bytes() == to_ics(reminder_calendar())


@pytest.mark.parametrize("bad", ["8", "24:00", "08:60", "8am"])
def test_cli_rejects_a_bad_reminder_time(bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["calendar", "x.yaml", "--start", "2026-03-16", "--format", "ics", "--reminder", bad, "--tz", "UTC"])
    assert exit_info.value.code == 2 and "HH:MM" in capsys.readouterr().err


def test_cli_reminder_without_zone_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "p.yaml"
    source.write_text(PROTOCOL_YAML)
    code = main(
        ["calendar", str(source), "--start", "2026-03-16", "--bsa", "1.8", "--format", "ics", "--reminder", "8:00"]
    )
    assert code == 1 and "needs a time zone" in capsys.readouterr().err


def test_a_calendar_with_nothing_to_give_is_refused() -> None:
    late = PROTOCOL_YAML.replace("days: 1-7", "days: 5-7").replace("days: 1\n", "days: 5\n")
    cal = expand(parse_protocol(late), START, until=START + timedelta(days=2), patient=Patient(bsa_m2=Decimal("1.8")))
    assert not cal.days
    with pytest.raises(ScheduleError, match="needs at least one event"):
        to_ics(cal)


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    length=st.integers(min_value=7, max_value=42),
    first=st.integers(min_value=1, max_value=7),
    span=st.integers(min_value=0, max_value=6),
    cycles=st.integers(min_value=1, max_value=3),
    dose=st.sampled_from(["2.5", "5", "10", "15", "20", "25"]),
)
def test_round_trip_matches_the_calendar_for_generated_protocols(
    start: date, length: int, first: int, span: int, cycles: int, dose: str
) -> None:
    protocol = protocol_from_dict(
        {
            "schema_version": 1,
            "id": "gen",
            "title": "Generated",
            "setting": "test",
            "citation": {"title": "c"},
            "phases": [
                {
                    "name": "treatment",
                    "cycle_length_days": length,
                    "cycles": cycles,
                    "drugs": [{"drug": "lenalidomide", "dose": dose, "days": f"{first}-{min(first + span, length)}"}],
                }
            ],
        }
    )
    cal = expand(protocol, start)
    events = parse(to_ics(cal)).walk("VEVENT")
    assert sorted((e.decoded("dtstart"), str(e["summary"])) for e in events) == sorted(
        (d.date, f"Lenalidomide {dose} mg") for d in cal.days
    )
    assert len({str(e["uid"]) for e in events}) == len(cal.days)


# --- line breaks in protocol text never break or inject a content line -----------------------------------

# YAML escapes: CR alone, CR LF, LF, NEL (\N), LINE and PARAGRAPH SEPARATOR (\L, \P), vertical tab, form feed.
HOSTILE_TITLE = r"Title\rATTENDEE:mailto:evil@example.com\r\nX-INJ-TITLE:1\nEND:VEVENT\NX-A:1\LX-B:1\PX-C:1\vX-D:1\f"
HOSTILE_PHASE = r"induction\rX-INJ-PHASE:1\r\nBEGIN:VALARM"
EVENT_PROPERTIES = {
    "UID",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "DESCRIPTION",
    "STATUS",
    "TRANSP",
    "CLASS",
    "DTSTAMP",
    "SEQUENCE",
}


def hostile_ics() -> tuple[bytes, Calendar]:
    text = PROTOCOL_YAML.replace(
        "title: Printing test regimen (lenalidomide 2.5 then 5 mg, rituximab, aspirin)", f'title: "{HOSTILE_TITLE}"'
    )
    text = text.replace("  - name: induction", f'  - name: "{HOSTILE_PHASE}"')
    text = text.replace("  - name: maintenance", '  - name: "maintenance\\r=cmd|x"')
    protocol = parse_protocol(text)
    assert "\r" in protocol.title and "\r" in protocol.phases[0].name
    cal = expand(protocol, START, patient=Patient(bsa_m2=Decimal("1.80")))
    return to_ics(cal, reminder=time(8, 0), tz="Europe/Rome", remarks=["a remark\rX-INJ-REMARK:1"]), cal


def test_carriage_returns_in_protocol_text_never_end_a_content_line() -> None:
    """Was: a bare CR in the title went into X-WR-CALNAME as it was, and CR LF made icalendar raise
    ("Content line can not contain unescaped new line characters": an internal error in the CLI)."""
    data, _ = hostile_ics()
    assert data.count(b"\r") == data.count(b"\r\n"), "a bare CR"
    assert data.count(b"\n") == data.count(b"\r\n"), "a bare LF"
    names = set()
    for line in data.split(b"\r\n"):
        if not line or line[:1] in (b" ", b"\t"):
            continue
        names.add(line.split(b":", 1)[0].split(b";", 1)[0].decode())
    assert not {n for n in names if n.startswith("X-INJ") or n in ("ATTENDEE", "X-A", "X-B", "X-C", "X-D")}, names
    for text in (b"\x0b", b"\x0c", "\u2028".encode(), "\u2029".encode(), "\x85".encode()):
        assert text not in data


def test_a_second_and_third_parser_see_no_extra_property() -> None:
    data, cal = hostile_ics()
    ical = parse(data)
    events = ical.walk("VEVENT")
    assert len(all_day_events(ical)) == len(cal.days)
    for event in events:
        assert set(event) == EVENT_PROPERTIES, set(event) - EVENT_PROPERTIES
        assert "\r" not in str(event["summary"]) and "\n" not in str(event["summary"])
        assert "\r" not in str(event["description"])
    assert [c.name for c in ical.subcomponents].count("VEVENT") == len(events)
    assert all(len(e.walk("VALARM")) == (1 if e in timed_events(ical) else 0) for e in events)

    vobject = pytest.importorskip("vobject")
    parsed = vobject.readOne(data.decode("utf-8"))
    assert {k.upper() for k in parsed.contents} <= {"PRODID", "VERSION", "CALSCALE", "X-WR-CALNAME", "X-WR-CALDESC"} | {
        "VEVENT",
        "VTIMEZONE",
    }
    assert "\r" not in parsed.contents["x-wr-calname"][0].value
    for vevent in parsed.vevent_list:
        assert {k.upper() for k in vevent.contents} <= EVENT_PROPERTIES | {"VALARM"}, vevent.contents.keys()

    recurring = pytest.importorskip("recurring_ical_events")
    found = recurring.of(ical).between(START, START + timedelta(days=60))
    assert len(found) == len(events)
    assert all(set(e) <= EVENT_PROPERTIES | {"RECURRENCE-ID"} for e in found)


def test_cli_ics_of_a_title_with_crlf_is_written(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """Was: ``error: internal error: AssertionError: Content line can not contain unescaped new line characters``."""
    source = tmp_path / "p.yaml"
    source.write_text(PROTOCOL_YAML.replace("title: Printing", 'title: "Printing\\r\\nATTENDEE:x\\r"\n#'))
    assert main(["calendar", str(source), "--start", "2026-03-16", "--bsa", "1.8", "--format", "ics"]) == 0
    captured = capsysbinary.readouterr()
    assert b"internal error" not in captured.err
    assert b"X-WR-CALNAME:Treatment calendar: Printing ATTENDEE:x \r\n" in captured.out

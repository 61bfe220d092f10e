"""ICS that updates in place (issue 13, part 3), read back by three independent parsers.

``icalendar`` (the writer's own library), ``vobject`` and ``recurring-ical-events`` read the files, and
libical (C, through ctypes; the test skips without it) checks them against RFC 5545/5546 restrictions; a
regeneration after a hold must keep every UID, raise SEQUENCE on changed events only, keep the
DTSTAMP of unchanged ones and cancel (``STATUS:CANCELLED``) the dose days that disappeared.
"""

from __future__ import annotations

import os
import warnings
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import icalendar
import pytest

from lenasched import Calendar, Patient, ScheduleError, expand, get_protocol
from lenasched.cli.main import main
from lenasched.formats.ics import ReminderTimeWarning, build_ics, calendar_key, event_uid, to_ics
from lenasched.model.events import Hold, PatientEvents, Resume

from .test_html import make_calendar

START = date(2026, 12, 1)
HOLD = date(2027, 1, 10)
RESUME = date(2027, 1, 24)
PATIENT = "MRN-0042"


def badoux(*, held: bool) -> Calendar:
    events = PatientEvents(events=[Hold(date=HOLD, reason="neutropenia"), Resume(date=RESUME, level="lower")])
    return expand(get_protocol("badoux-2011"), START, cycles=3, events=events if held else None)


def by_uid(data: bytes) -> dict[str, icalendar.Component]:
    return {str(e["uid"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def seq(event: icalendar.Component) -> int:
    return int(str(event["sequence"]))


def regenerate() -> tuple[bytes, bytes]:
    kw: dict[str, Any] = {"patient_id": PATIENT, "reminder": time(8, 0), "tz": "Europe/Rome"}
    first = to_ics(badoux(held=False), **kw)
    return first, to_ics(badoux(held=True), previous=first, **kw)


def test_regenerated_after_a_hold_keeps_uids_raises_sequence_on_changes_only_and_cancels_the_rest() -> None:
    first, second = regenerate()
    old, new = by_uid(first), by_uid(second)
    held = badoux(held=True)
    assert set(old) <= set(new)  # no UID disappears: what left the plan is cancelled, not dropped
    planned = {event_uid(held, day, PATIENT) for day in held.days}
    assert planned <= set(new)
    stamp_before = datetime(2026, 12, 1, tzinfo=timezone.utc)
    stamp_after = stamp_before + timedelta(seconds=1)
    changed = cancelled = unchanged = 0
    for uid, event in new.items():
        before = old[uid]
        assert seq(before) == 0 and before.decoded("dtstamp") == stamp_before
        if str(event["status"]) == "CANCELLED":
            cancelled += 1
            assert uid not in planned
            assert str(event["summary"]).startswith("Cancelled: ")
            assert seq(event) == 1 and event.decoded("dtstamp") == stamp_after
            assert event.decoded("dtstart") == before.decoded("dtstart")
            assert HOLD <= _day(event) < RESUME
            assert not event.walk("VALARM")
            continue
        assert str(event["status"]) == "CONFIRMED"
        same = {k: v for k, v in event.items() if k not in ("DTSTAMP", "SEQUENCE")} == {
            k: v for k, v in before.items() if k not in ("DTSTAMP", "SEQUENCE")
        }
        if same:
            unchanged += 1
            assert seq(event) == 0 and event.decoded("dtstamp") == stamp_before
        else:
            changed += 1
            assert seq(event) == 1 and event.decoded("dtstamp") == stamp_after
            assert _day(event) >= HOLD  # nothing before the hold changes
    lenalidomide_held = [d for d in badoux(held=False).days if d.drug == "lenalidomide" and HOLD <= d.date < RESUME]
    assert cancelled == 2 * len(lenalidomide_held) > 0  # the dose and its reminder
    assert changed > 0 and unchanged > 0
    assert all(seq(e) == 0 for e in new.values() if _day(e) < HOLD)


def _day(event: icalendar.Component) -> date:
    value = event.decoded("dtstart")
    return value.date() if isinstance(value, datetime) else value


def test_regenerating_from_the_update_changes_nothing_and_carries_the_cancellations() -> None:
    _, second = regenerate()
    kw: dict[str, Any] = {"patient_id": PATIENT, "reminder": time(8, 0), "tz": "Europe/Rome"}
    result = build_ics(badoux(held=True), previous=second, **kw)
    assert result.data == second
    assert (result.changed, result.new) == (0, 0) and result.cancelled > 0
    # a dose day that comes back after a cancellation is confirmed again, one SEQUENCE higher
    back = build_ics(badoux(held=False), previous=second, **kw)
    again = by_uid(back.data)
    assert all(str(e["status"]) == "CONFIRMED" for e in again.values())
    old = by_uid(second)
    revived = [u for u, e in old.items() if str(e["status"]) == "CANCELLED"]
    assert revived and all(seq(again[u]) == 2 for u in revived)
    assert back.cancelled == 0


def test_same_inputs_give_the_same_bytes() -> None:
    assert regenerate() == regenerate()


def test_vobject_reads_the_update() -> None:
    vobject = pytest.importorskip("vobject")
    _, second = regenerate()
    parsed = vobject.readOne(second.decode("utf-8"))
    assert not hasattr(parsed, "method")  # no METHOD: a published file, not an iTIP message
    statuses: dict[str, int] = {}
    for event in parsed.vevent_list:
        assert event.uid.value.endswith("@lenasched") and event.dtstamp.value.tzinfo is not None
        status = event.status.value
        statuses[status] = statuses.get(status, 0) + 1
        assert int(event.sequence.value) in ((1,) if status == "CANCELLED" else (0, 1))
    assert set(statuses) == {"CONFIRMED", "CANCELLED"}
    assert len({e.uid.value for e in parsed.vevent_list}) == len(parsed.vevent_list)


def test_recurring_ical_events_sees_the_cancelled_days_in_the_hold() -> None:
    recurring = pytest.importorskip("recurring_ical_events")
    first, second = regenerate()
    window = recurring.of(icalendar.Calendar.from_ical(second)).between(HOLD, RESUME)
    lenalidomide = [e for e in window if ".lenalidomide@" in str(e["UID"])]
    assert lenalidomide and all(str(e["STATUS"]) == "CANCELLED" for e in lenalidomide)
    reminders = [e for e in window if str(e["UID"]).endswith(".reminder@lenasched")]
    assert all(e["DTSTART"].dt.tzinfo is not None for e in reminders)
    before = recurring.of(icalendar.Calendar.from_ical(first)).between(START, HOLD)
    after = recurring.of(icalendar.Calendar.from_ical(second)).between(START, HOLD)
    assert sorted(str(e["UID"]) for e in before) == sorted(str(e["UID"]) for e in after)


def test_no_method_and_every_event_has_status_sequence_and_dtstamp() -> None:
    data = to_ics(make_calendar())
    ical = icalendar.Calendar.from_ical(data)
    assert "METHOD" not in ical and b"METHOD" not in data and b"ORGANIZER" not in data
    for event in ical.walk("VEVENT"):
        assert str(event["status"]) == "CONFIRMED" and seq(event) == 0 and "DTSTAMP" in event


def test_patient_uids_are_digests_stable_across_start_and_protocol() -> None:
    cal = badoux(held=False)
    key = calendar_key(cal, PATIENT)
    assert key.startswith("pt-") and PATIENT.lower() not in key.lower() and len(key) == 19
    uid = event_uid(cal, cal.days[0], PATIENT)
    assert uid == f"{key}.20261201.lenalidomide@lenasched"
    other = expand(get_protocol("chen-2011"), START, cycles=1)
    assert event_uid(other, other.days[0], PATIENT) == uid  # same patient, drug and date: same event
    assert event_uid(cal, cal.days[0], "MRN-0043") != uid
    moved = expand(get_protocol("badoux-2011"), START - timedelta(days=7), cycles=3)
    assert by_uid(to_ics(moved, patient_id=PATIENT)).keys() & by_uid(to_ics(cal, patient_id=PATIENT)).keys()
    with pytest.raises(ScheduleError, match="patient id is empty"):
        calendar_key(cal, "  ")


def test_a_previous_file_of_another_calendar_or_not_a_calendar_is_refused() -> None:
    first, _ = regenerate()
    with pytest.raises(ScheduleError, match="another patient, protocol or start date"):
        to_ics(badoux(held=True), patient_id="someone else", previous=first)
    with pytest.raises(ScheduleError, match="not an iCalendar file"):
        to_ics(badoux(held=True), patient_id=PATIENT, previous=b"hello")
    foreign = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n"
    with pytest.raises(ScheduleError, match="no event written by lenasched"):
        to_ics(badoux(held=True), patient_id=PATIENT, previous=foreign)


def test_the_stamp_is_given_or_derived_and_never_goes_back() -> None:
    first, _ = regenerate()
    later = datetime(2027, 1, 12, 9, 30, tzinfo=timezone.utc)
    kw: dict[str, Any] = {"patient_id": PATIENT, "reminder": time(8, 0), "tz": "Europe/Rome"}
    events = by_uid(to_ics(badoux(held=True), previous=first, stamp=later, **kw)).values()
    assert {e.decoded("dtstamp") for e in events if seq(e) == 1} == {later}
    with pytest.raises(ScheduleError, match="not later than the latest DTSTAMP"):
        to_ics(badoux(held=True), previous=first, stamp=datetime(2026, 12, 1, tzinfo=timezone.utc), **kw)
    with pytest.raises(ScheduleError, match="no time zone"):
        to_ics(badoux(held=True), previous=first, stamp=datetime(2027, 12, 1), **kw)


@cache
def dst_calendar() -> Calendar:
    # Continuous daily dosing through 28 March 2027 (spring forward) and 31 October 2027 (fall back) in Rome.
    return expand(get_protocol("badoux-2011"), date(2027, 3, 1), until=date(2027, 11, 5))


@pytest.mark.parametrize(
    ("day", "what"), [(date(2027, 3, 28), "does not exist"), (date(2027, 10, 31), "happens twice")]
)
def test_a_reminder_in_a_dst_gap_or_overlap_is_moved_with_a_warning(day: date, what: str) -> None:
    cal = dst_calendar()
    assert any(d.date == day for d in cal.days)
    said: list[str] = []
    data = to_ics(cal, reminder=time(2, 30), tz="Europe/Rome", warn=said.append)
    assert len(said) == 2 and any(what in s and "Europe/Rome" in s and "is at 03:00, not 02:30" in s for s in said)
    reminders = {_day(e): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT") if "VALARM" in str(e.walk())}
    start = reminders[day].decoded("dtstart")
    assert start.time() == time(3, 0)
    assert start.replace(fold=0).utcoffset() == start.replace(fold=1).utcoffset()  # one instant, whatever the app
    assert reminders[day - timedelta(days=1)].decoded("dtstart").time() == time(2, 30)
    assert b"DTSTART;TZID=Europe/Rome:%b" % day.strftime("%Y%m%dT030000").encode() in data


def test_without_a_callback_the_move_is_a_python_warning_and_ordinary_times_warn_nothing() -> None:
    with pytest.warns(ReminderTimeWarning, match="28 March 2027|31 October 2027"):
        to_ics(dst_calendar(), reminder=time(2, 30), tz="Europe/Rome")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_ics(dst_calendar(), reminder=time(8, 0), tz="Europe/Rome")


def test_cli_previous_stamp_patient_id_and_the_dst_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "3", "--format", "ics"]
    base += ["--patient-id", PATIENT]
    old, new = tmp_path / "old.ics", tmp_path / "new.ics"
    assert main([*base, "-o", str(old)]) == 0
    held = ["--hold", f"{HOLD}:neutropenia", "--resume", f"{RESUME}:lower"]
    assert main([*base, *held, "--previous", str(old), "--stamp", "2027-01-12T09:30:00Z", "-o", str(new)]) == 0
    err = capsys.readouterr().err
    assert f"note: compared with {old}: " in err and "cancelled (STATUS:CANCELLED)" in err
    events = by_uid(new.read_bytes())
    assert set(by_uid(old.read_bytes())) <= set(events)
    cancelled = [e for e in events.values() if str(e["status"]) == "CANCELLED"]
    assert cancelled and {e.decoded("dtstamp") for e in cancelled} == {
        datetime(2027, 1, 12, 9, 30, tzinfo=timezone.utc)
    }
    assert main([*base, "--previous", str(tmp_path / "missing.ics")]) == 1
    assert "--previous" in capsys.readouterr().err
    assert main([*base, "--stamp", "tomorrow"]) == 1
    assert "--stamp 'tomorrow' is not a UTC date-time" in capsys.readouterr().err
    rome = ["calendar", "badoux-2011", "--start", "2027-03-20", "--cycles", "1", "--format", "ics"]
    assert main([*rome, "--reminder", "02:30", "--tz", "Europe/Rome", "-o", str(tmp_path / "r.ics")]) == 0
    assert "warning: the reminder on Sunday 28 March 2027 is at 03:00, not 02:30" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "csv", "--previous", "x.ics"], "--previous and --stamp apply to --format ics only"),
        (["--format", "json", "--stamp", "2027-01-01"], "--previous and --stamp apply to --format ics only"),
        (["--format", "csv", "--patient-id", "X"], "--patient-id applies to --format fhir and ics only"),
    ],
)
def test_cli_ics_options_elsewhere_are_refused(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "1", *extra]) == 1
    assert message in capsys.readouterr().err


def test_bsa_patient_calendar_still_round_trips() -> None:
    cal = expand(get_protocol("badoux-2011"), START, cycles=1, patient=Patient(bsa_m2=Decimal("1.8")))
    assert len(by_uid(to_ics(cal, patient_id=PATIENT))) == len(cal.days)


def _libical() -> Any:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("ical")
    if name is None:
        if os.environ.get("LENASCHED_REQUIRE_LIBICAL"):  # CI: the independent client must run, not skip
            pytest.fail(
                "libical is not installed (Debian: apt-get install libical3) and LENASCHED_REQUIRE_LIBICAL is set"
            )
        pytest.skip("libical is not installed (Debian: apt-get install libical3)")
    lib = ctypes.CDLL(name)
    lib.icalparser_parse_string.restype = ctypes.c_void_p
    lib.icalparser_parse_string.argtypes = [ctypes.c_char_p]
    lib.icalrestriction_check.argtypes = [ctypes.c_void_p]
    lib.icalcomponent_count_errors.argtypes = [ctypes.c_void_p]
    lib.icalcomponent_free.argtypes = [ctypes.c_void_p]
    return lib


def test_libical_finds_no_error_where_it_refused_method_publish_without_organizer() -> None:
    lib = _libical()
    _, second = regenerate()
    rome = to_ics(dst_calendar(), reminder=time(8, 0), tz="Europe/Rome")
    for data in (second, rome, to_ics(make_calendar())):
        component = lib.icalparser_parse_string(data)
        assert component
        lib.icalrestriction_check(component)  # the RFC 5546 restrictions (METHOD, ORGANIZER, ...) and RFC 5545's
        assert lib.icalcomponent_count_errors(component) == 0
        lib.icalcomponent_free(component)
    old = data.replace(b"CALSCALE:GREGORIAN\r\n", b"CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n")
    component = lib.icalparser_parse_string(old)
    lib.icalrestriction_check(component)
    assert lib.icalcomponent_count_errors(component) > 0  # what issue 13 reported: PUBLISH needs an ORGANIZER
    lib.icalcomponent_free(component)

"""iCalendar (RFC 5545) export for phone and desktop calendar apps, written with ``icalendar``.

One all-day event per drug per administration day (``DTSTART;VALUE=DATE``): a date has no time
zone, so a patient who travels never sees a dose move to the day before or after.

**Reminders.** With ``reminder`` (a clock time) and ``tz`` (an IANA zone), each administration date
also gets one short *timed* event at that time in that zone (``DTSTART;TZID=...`` with the zone's
``VTIMEZONE``), listing everything due that day and carrying a display alarm at its start. Why a
timed event rather than an alarm on the all-day event:

- the usual "on the day at 08:00" alarm of an all-day event is a trigger *after* the event's start
  (``TRIGGER:PT8H``); Outlook ignores alarms that are not before the start, and servers read the
  floating midnight of an all-day event differently (some as UTC), so the alarm moves or vanishes;
- Google Calendar drops every ``VALARM`` of an imported file, but a timed event still shows at
  08:00 in the day view and gets the calendar's default notification;
- a ``TZID`` time is "proper time-zone handling": 08:00 in Rome stays 08:00 in Rome through
  daylight-saving changes, and every common app converts it for a device set to another zone.

**Stable output.** UIDs are built from protocol id, start date, date and drug, so re-exporting the
same calendar gives the same UIDs (apps update events instead of duplicating them), and DTSTAMP is
the calendar's start date at 00:00 UTC, not the time of export: the same input gives the same bytes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from ..calendar import Calendar, DoseDay
from ..describe import DISCLAIMER, off_label_note
from ..errors import ScheduleError
from ..limits import MAX_ICS_EVENTS
from .daytext import DatedCheck, check_text, cycle_label, long_date, summary_text

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import icalendar

__all__ = ["PRODID", "REMINDER_MINUTES", "check_uid", "event_uid", "reminder_uid", "to_ics"]

PRODID = "-//lenasched//lenasched dosing calendar//EN"
REMINDER_MINUTES = 15  # length of the timed reminder event


def event_uid(calendar: Calendar, day: DoseDay) -> str:
    """Stable UID of one administration: same protocol, start, date and drug → same UID."""
    return f"{calendar.protocol_id}.{calendar.start:%Y%m%d}.{day.date:%Y%m%d}.{_slug(day.drug)}@lenasched"


def check_uid(calendar: Calendar, check: DatedCheck) -> str:
    """Stable UID of a dated check (e.g. a pregnancy test), from its date and title."""
    return f"{calendar.protocol_id}.{calendar.start:%Y%m%d}.{check.date:%Y%m%d}.{_slug(check.title)}@lenasched"


def reminder_uid(calendar: Calendar, when: date) -> str:
    """Stable UID of the timed reminder of one date."""
    return f"{calendar.protocol_id}.{calendar.start:%Y%m%d}.{when:%Y%m%d}.reminder@lenasched"


def to_ics(
    calendar: Calendar,
    *,
    reminder: time | None = None,
    tz: str | None = None,
    allow_multiple: bool = False,
    remarks: Sequence[str] = (),
    checks: Sequence[DatedCheck] = (),
) -> bytes:
    """The calendar as an RFC 5545 file (UTF-8, CRLF line ends).

    ``reminder`` and ``tz`` go together: a clock time without a zone would ring at a different
    hour on a device set to another zone, so it is refused. ``allow_multiple`` is passed to the
    instruction writer (a dose needing several capsules is refused without it). ``remarks`` (e.g.
    a renal adjustment's summary) go into every event's description; ``checks`` (e.g.
    ``lenasched.rems.pregnancy_tests(calendar)``) become all-day events of their own.
    """
    import icalendar

    from ..instructions import instruction

    zone = _zone(reminder, tz)
    if not calendar.days and not checks:
        raise ScheduleError(
            f"nothing is given from {calendar.start.isoformat()} to {calendar.end.isoformat()}: "
            "an iCalendar file needs at least one event; extend the calendar (--cycles or --until)"
        )
    events = len(calendar.days) + len(checks)
    if reminder is not None:
        events += len({d.date for d in calendar.days} | {c.date for c in checks})
    if events > MAX_ICS_EVENTS:
        raise ScheduleError(
            f"this iCalendar file would hold {events:,} events, more than the {MAX_ICS_EVENTS:,} a file may hold; "
            "ask for fewer cycles (--cycles) or an earlier end (--until)"
            + (", or leave out --reminder (one more event per date)" if reminder is not None else "")
        )
    stamp = datetime.combine(calendar.start, time(0), tzinfo=timezone.utc)
    ical = icalendar.Calendar()
    ical.add("prodid", PRODID)
    ical.add("version", "2.0")
    ical.add("calscale", "GREGORIAN")
    ical.add("method", "PUBLISH")
    ical.add("x-wr-calname", f"Treatment calendar: {calendar.protocol.title}")
    off_label = off_label_note(calendar.protocol)
    caldesc = [f"{calendar.protocol.citation.short()}.", *([off_label] if off_label else []), *remarks, DISCLAIMER]
    ical.add("x-wr-caldesc", " ".join(caldesc))

    due: dict[date, list[str]] = {}
    for day in calendar.days:
        due.setdefault(day.date, []).append(summary_text(day))
        window = calendar.window_of(day.date)
        where = cycle_label(calendar, window, day.date) if window is not None else ""
        sentence = _sentence(instruction(day, allow_multiple=allow_multiple, market=calendar.market))
        if where:
            sentence += f"\n{where[:1].upper()}{where[1:]} (day {day.study_day} of treatment)."
        ical.add_component(
            _all_day(event_uid(calendar, day), day.date, summary_text(day), sentence, calendar, remarks, stamp)
        )
    for check in sorted(checks, key=lambda c: (c.date, c.title)):
        due.setdefault(check.date, []).append(check.title)
        ical.add_component(
            _all_day(
                check_uid(calendar, check), check.date, check.title, check_text(check) + ".", calendar, remarks, stamp
            )
        )

    if reminder is not None and zone is not None:
        for when in sorted(due):
            ical.add_component(_reminder_event(calendar, when, due[when], reminder, zone, stamp))
        ical.add_missing_timezones(
            first_date=calendar.start - timedelta(days=366), last_date=calendar.end + timedelta(days=366)
        )
    return bytes(ical.to_ical())


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _all_day(
    uid: str, when: date, summary: str, text: str, calendar: Calendar, remarks: Sequence[str], stamp: datetime
) -> icalendar.Event:
    import icalendar

    protocol = calendar.protocol
    lines = [text, *remarks, f"{protocol.title} ({protocol.id}; {protocol.citation.short()}).", DISCLAIMER]
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", when)
    event.add("dtend", when + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", "\n".join(lines))
    event.add("transp", "TRANSPARENT")
    event.add("class", "PRIVATE")
    return event


def _reminder_event(
    calendar: Calendar, when: date, what: Sequence[str], at: time, zone: ZoneInfo, stamp: datetime
) -> icalendar.Event:
    import icalendar

    start = datetime.combine(when, at, tzinfo=zone)
    text = "Today: " + "; ".join(what)
    event = icalendar.Event()
    event.add("uid", reminder_uid(calendar, when))
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=REMINDER_MINUTES))
    event.add("summary", text)
    event.add("description", f"Reminder for {long_date(when)}.\n{DISCLAIMER}")
    event.add("transp", "TRANSPARENT")
    event.add("class", "PRIVATE")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(0))
    alarm.add("description", text)
    event.add_component(alarm)
    return event


def _zone(reminder: time | None, tz: str | None) -> ZoneInfo | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    if reminder is None and tz is None:
        return None
    if reminder is None:
        raise ScheduleError(f"a time zone ({tz}) was given without a reminder time; add a reminder such as 08:00")
    if tz is None:
        raise ScheduleError(
            f"a reminder at {reminder:%H:%M} needs a time zone (e.g. Europe/Rome) "
            "so it rings at that hour wherever the phone is set"
        )
    try:
        if not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", tz):
            raise ValueError(tz)
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(tz, sorted(available_timezones()), n=3, cutoff=0.6)
        hint = "; did you mean " + ", ".join(close) + "?" if close else "; use an IANA name such as Europe/Rome"
        raise ScheduleError(f"unknown time zone {tz!r}{hint}") from None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")

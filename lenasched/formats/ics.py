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

**Daylight-saving changes.** A reminder time that does not exist on a date in the zone (02:30 in
Europe/Rome on 28 March 2027: the clocks jump from 02:00 to 03:00) or that happens twice (02:30 on
31 October 2027) is read differently by different apps: RFC 5545 says a missing time means the time
after the jump (03:30) and a doubled one its first occurrence, but some apps ring an hour early or
late, or not at all. So on such a date the reminder is **moved** to the first clock time after the
change that exists exactly once (03:00 in both examples), and ``warn`` is told, naming the date, the
zone and the new time; the CLI prints it as a ``warning:`` line. Other dates keep the asked time.

**No METHOD.** The file is published for import or subscription, not sent as a scheduling message.
RFC 5546 (iTIP) requires an ``ORGANIZER`` in every event of a ``METHOD:PUBLISH`` object (section 3.2.1),
and ``CANCEL`` also needs attendees; libical refuses ``METHOD:PUBLISH`` without one. An organizer would
have to be an address lenasched does not have (it is not the patient's, nor the pharmacy's to invent),
so the object carries no ``METHOD``: RFC 5545 then makes ``DTSTAMP`` the time the event was last
changed (section 3.8.7.2), which is what the updates below need. Every event says
``STATUS:CONFIRMED`` or ``STATUS:CANCELLED`` and its ``SEQUENCE``.

**Updating in place** (``previous``: the bytes of the file this one replaces, ``--previous OLD.ics``).
A calendar app that re-imports or re-reads a subscribed file matches events by ``UID`` and keeps the one
with the higher ``SEQUENCE`` (then the later ``DTSTAMP``), as RFC 5546 section 2.1.5 orders revisions.
The writer cannot know what a patient's app holds, so it is told: the previous file is read with
``icalendar`` and, UID by UID,

- an event whose content (every property but ``DTSTAMP`` and ``SEQUENCE``) is unchanged keeps its
  ``SEQUENCE`` and its ``DTSTAMP``: it is byte for byte the same event;
- a changed event gets ``SEQUENCE`` + 1 and the new ``DTSTAMP``;
- an event of the previous file that is no longer in the plan (a held dose, a dropped reminder) is
  written again with ``STATUS:CANCELLED``, ``SEQUENCE`` + 1 and the new ``DTSTAMP``, its summary starting
  "Cancelled:" for apps that show cancelled events; a cancellation already in the previous file is
  carried on unchanged, so an app that missed one update still learns of it at the next;
- a new event starts at ``SEQUENCE:0``.

The previous file must be a calendar of the same patient or plan: the UIDs tell (see below), and a
file none of whose lenasched UIDs belongs to this calendar is refused rather than cancelled wholesale.
Cancelled events are kept in the file (not dropped) because a file that merely omits an event does not
remove it from the apps that imported it; ``STATUS:CANCELLED`` on a higher ``SEQUENCE`` does.

**Stable UIDs.** With ``patient_id`` a UID is built from that patient, the date and the drug (or the
check's title, or "reminder"): ``pt-<16 hex>.20270104.lenalidomide@lenasched``. The patient part is a
SHA-256 digest of the id, so a medical record number is not copied to calendar servers (a digest of a
short number can still be guessed by trying numbers: it is pseudonymous, not anonymous). With a
patient id the same dose day keeps its UID whatever the protocol, start date or horizon, so a
calendar regenerated after a hold, a delay or a change of protocol updates the same events. Without
one, UIDs are keyed by protocol id and start date (``<protocol>.<start>.<date>.<drug>@lenasched``), as
before: stable across horizons and holds, but a new start date makes a new calendar.

**Deterministic DTSTAMP.** Nothing in the file depends on the time of export. ``stamp`` (``--stamp``,
a UTC date-time) is the DTSTAMP of new and changed events; without it, the stamp is the calendar's
start date at 00:00 UTC, or, with a previous file, one second after the latest ``DTSTAMP`` in that
file if that is later. The same inputs (and the same previous file) give the same bytes, and every
update is newer than what it replaces. A ``stamp`` that is not later than the previous file's latest
``DTSTAMP`` is refused: the update would look older than what it replaces.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from lenasched.engine.calendar import Calendar, DoseDay
from lenasched.errors import ScheduleError
from lenasched.formats.daytext import DatedCheck, check_text, cycle_label, is_clinic, long_date, summary_text
from lenasched.formats.describe import DISCLAIMER, off_label_note
from lenasched.model.limits import MAX_ICS_EVENTS

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import icalendar

__all__ = [
    "PRODID",
    "REMINDER_MINUTES",
    "IcsFile",
    "ReminderTimeWarning",
    "build_ics",
    "calendar_key",
    "check_uid",
    "event_uid",
    "parse_stamp",
    "reminder_uid",
    "to_ics",
]

PRODID = "-//lenasched//lenasched dosing calendar//EN"
REMINDER_MINUTES = 15  # length of the timed reminder event
CANCELLED_PREFIX = "Cancelled: "
_UID_DOMAIN = "@lenasched"


class ReminderTimeWarning(UserWarning):
    """A reminder was moved off a clock time that is missing or doubled by a daylight-saving change."""


@dataclass(frozen=True)
class IcsFile:
    """What :func:`build_ics` wrote: the bytes, and how the events compare with the previous file."""

    data: bytes
    new: int  # events not in the previous file (all of them without one)
    unchanged: int  # same content as in the previous file: same SEQUENCE and DTSTAMP
    changed: int  # SEQUENCE + 1
    cancelled: int  # no longer in the plan: STATUS:CANCELLED (including cancellations carried on)

    def summary(self) -> str:
        """One sentence for the terminal, e.g. after ``--previous``."""
        return (
            f"{self.unchanged} event(s) unchanged, {self.changed} changed (SEQUENCE + 1), "
            f"{self.new} new, {self.cancelled} cancelled (STATUS:CANCELLED)"
        )


def calendar_key(calendar: Calendar, patient_id: str | None = None) -> str:
    """The first part of every UID: a digest of the patient id, else protocol id and start date."""
    if patient_id is not None:
        if not patient_id.strip():
            raise ScheduleError("the patient id is empty; give one such as an MRN, or leave it out")
        digest = hashlib.sha256(b"lenasched-ics\0" + patient_id.strip().encode("utf-8")).hexdigest()
        return f"pt-{digest[:16]}"
    return f"{calendar.protocol_id}.{calendar.start:%Y%m%d}"


def event_uid(calendar: Calendar, day: DoseDay, patient_id: str | None = None) -> str:
    """Stable UID of one administration: same patient (or protocol and start), date and drug → same UID."""
    return f"{calendar_key(calendar, patient_id)}.{day.date:%Y%m%d}.{_slug(day.drug)}{_UID_DOMAIN}"


def check_uid(calendar: Calendar, check: DatedCheck, patient_id: str | None = None) -> str:
    """Stable UID of a dated check (e.g. a pregnancy test), from its date and title."""
    return f"{calendar_key(calendar, patient_id)}.{check.date:%Y%m%d}.{_slug(check.title)}{_UID_DOMAIN}"


def reminder_uid(calendar: Calendar, when: date, patient_id: str | None = None) -> str:
    """Stable UID of the timed reminder of one date."""
    return f"{calendar_key(calendar, patient_id)}.{when:%Y%m%d}.reminder{_UID_DOMAIN}"


def parse_stamp(text: str) -> datetime:
    """``--stamp``: a UTC date-time (``2027-01-15T09:00:00Z``, or with an offset) or a date (00:00 UTC)."""
    from dateutil.parser import isoparse

    try:
        value = isoparse(text.strip())
    except (ValueError, OverflowError):
        value = None
    if value is None or (value.tzinfo is None and "T" in text):
        raise ScheduleError(
            f"--stamp {text!r} is not a UTC date-time; write it as 2027-01-15T09:00:00Z (or a date, 2027-01-15)"
        )
    return _utc(value)


def to_ics(
    calendar: Calendar,
    *,
    reminder: time | None = None,
    tz: str | None = None,
    allow_multiple: bool = False,
    remarks: Sequence[str] = (),
    checks: Sequence[DatedCheck] = (),
    patient_id: str | None = None,
    previous: bytes | None = None,
    stamp: datetime | None = None,
    warn: Callable[[str], None] | None = None,
) -> bytes:
    """The calendar as an RFC 5545 file (UTF-8, CRLF line ends); see :func:`build_ics`."""
    return build_ics(
        calendar,
        reminder=reminder,
        tz=tz,
        allow_multiple=allow_multiple,
        remarks=remarks,
        checks=checks,
        patient_id=patient_id,
        previous=previous,
        stamp=stamp,
        warn=warn,
    ).data


def build_ics(
    calendar: Calendar,
    *,
    reminder: time | None = None,
    tz: str | None = None,
    allow_multiple: bool = False,
    remarks: Sequence[str] = (),
    checks: Sequence[DatedCheck] = (),
    patient_id: str | None = None,
    previous: bytes | None = None,
    previous_name: str = "the previous file",
    stamp: datetime | None = None,
    warn: Callable[[str], None] | None = None,
) -> IcsFile:
    """The calendar as an RFC 5545 file, with counts of what changed since ``previous``.

    ``reminder`` and ``tz`` go together: a clock time without a zone would ring at a different
    hour on a device set to another zone, so it is refused. ``allow_multiple`` is passed to the
    instruction writer (a dose needing several capsules is refused without it). ``remarks`` (e.g.
    a renal adjustment's summary) go into every event's description; ``checks`` (e.g.
    ``lenasched.pharmacy.rems.pregnancy_tests(calendar)``) become all-day events of their own.
    ``patient_id`` keys the UIDs; ``previous`` is the file this one replaces (SEQUENCE, cancellations);
    ``stamp`` the DTSTAMP of what changed; ``warn`` receives the sentence about each reminder moved off a
    daylight-saving change (default: a :class:`ReminderTimeWarning`). See the module's documentation.
    """
    import icalendar

    from lenasched.pharmacy.instructions import instruction

    zone = _zone(reminder, tz)
    key = calendar_key(calendar, patient_id)
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
    before = _read_previous(previous, previous_name, key) if previous is not None else {}
    stamp = _stamp(calendar, stamp, before, previous_name)

    planned: list[icalendar.Event] = []
    due: dict[date, list[str]] = {}
    for day in calendar.days:
        due.setdefault(day.date, []).append(summary_text(day, calendar.protocol))
        window = calendar.window_of(day.date)
        where = cycle_label(calendar, window, day.date) if window is not None else ""
        clinic = is_clinic(day, calendar.protocol)
        sentence = _sentence(instruction(day, allow_multiple=allow_multiple, market=calendar.market, clinic=clinic))
        if where:
            sentence += f"\n{where[:1].upper()}{where[1:]} (day {day.study_day} of treatment)."
        planned.append(
            _all_day(
                event_uid(calendar, day, patient_id),
                day.date,
                summary_text(day, calendar.protocol),
                sentence,
                calendar,
                remarks,
            )
        )
    for check in sorted(checks, key=lambda c: (c.date, c.title)):
        due.setdefault(check.date, []).append(check.title)
        planned.append(
            _all_day(
                check_uid(calendar, check, patient_id),
                check.date,
                check.title,
                check_text(check) + ".",
                calendar,
                remarks,
            )
        )
    if reminder is not None and zone is not None:
        for when in sorted(due):
            start = _reminder_start(when, reminder, zone, warn)
            planned.append(_reminder_event(reminder_uid(calendar, when, patient_id), when, due[when], start))

    seen = {str(event["uid"]) for event in planned}
    gone = [_cancelled(uid, old) for uid, old in sorted(before.items(), key=lambda kv: (_start_key(kv[1]), kv[0]))]
    gone = [event for event in gone if str(event["uid"]) not in seen]
    counts = {"new": 0, "unchanged": 0, "changed": 0}
    for event in [*planned, *gone]:
        old = before.get(str(event["uid"]))
        if old is None:
            sequence, when, kind = 0, stamp, "new"
        elif _fingerprint(event) == _fingerprint(old):
            sequence, when, kind = _sequence(old), _utc(old.decoded("dtstamp")), "unchanged"
        else:
            sequence, when, kind = _sequence(old) + 1, stamp, "changed"
        event.add("dtstamp", when)
        event.add("sequence", sequence)
        if event.get("status") != "CANCELLED":
            counts[kind] += 1

    ical = icalendar.Calendar()
    ical.add("prodid", PRODID)
    ical.add("version", "2.0")
    ical.add("calscale", "GREGORIAN")
    ical.add("x-wr-calname", _one_line(f"Treatment calendar: {calendar.protocol.title}"))
    off_label = off_label_note(calendar.protocol)
    caldesc = [f"{calendar.protocol.citation.short()}.", *([off_label] if off_label else []), *remarks, DISCLAIMER]
    ical.add("x-wr-caldesc", _one_line(" ".join(caldesc)))
    for event in [*planned, *gone]:
        ical.add_component(event)
    timed = [e.decoded("dtstart") for e in (*planned, *gone) if isinstance(e.decoded("dtstart"), datetime)]
    if timed:
        ical.add_missing_timezones(
            first_date=min(timed).date() - timedelta(days=366), last_date=max(timed).date() + timedelta(days=366)
        )
        for vtimezone in ical.walk("VTIMEZONE"):  # icalendar notes its range in a COMMENT that RFC 5545
            vtimezone.pop("COMMENT", None)  # does not allow in VTIMEZONE (only in STANDARD/DAYLIGHT); libical says so
    return IcsFile(data=bytes(ical.to_ical()), cancelled=len(gone), **counts)


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


# Line breaks of every kind (CR LF, bare CR, NEL, LINE and PARAGRAPH SEPARATOR, VT, FF) and other control
# characters. Protocol titles, phase names, notes and drug names are text from files anyone can write; a
# bare CR in a property value would end the content line in some readers and start an injected property.
_BREAKS = re.compile(r"\r\n?|[\n\x0b\x0c\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")


def _one_line(text: str) -> str:
    """``text`` for a one-line property (SUMMARY, X-WR-CALNAME): every line break and control is a space."""
    return _CONTROLS.sub(" ", _BREAKS.sub(" ", text))


def _lines(text: str) -> str:
    """``text`` for DESCRIPTION: line breaks as ``\\n`` only (escaped by icalendar), other controls as spaces."""
    return _CONTROLS.sub(" ", _BREAKS.sub("\n", text))


def _all_day(
    uid: str, when: date, summary: str, text: str, calendar: Calendar, remarks: Sequence[str]
) -> icalendar.Event:
    import icalendar

    protocol = calendar.protocol
    about = _one_line(f"{protocol.title} ({protocol.id}; {protocol.citation.short()}).")
    lines = [text, *remarks, about, DISCLAIMER]
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstart", when)
    event.add("dtend", when + timedelta(days=1))
    event.add("summary", _one_line(summary))
    event.add("description", _lines("\n".join(lines)))
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    event.add("class", "PRIVATE")
    return event


def _reminder_event(uid: str, when: date, what: Sequence[str], start: datetime) -> icalendar.Event:
    import icalendar

    text = _one_line("Today: " + "; ".join(what))
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=REMINDER_MINUTES))
    event.add("summary", text)
    event.add("description", f"Reminder for {long_date(when)}.\n{DISCLAIMER}")
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    event.add("class", "PRIVATE")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(0))
    alarm.add("description", text)
    event.add_component(alarm)
    return event


def _cancelled(uid: str, old: icalendar.Component) -> icalendar.Event:
    """The cancellation of an event of the previous file (no alarm; DTSTAMP and SEQUENCE added later)."""
    import icalendar

    summary = _one_line(str(old.get("summary", "")))
    summary = summary.removeprefix(CANCELLED_PREFIX)
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstart", old.decoded("dtstart"))
    if "dtend" in old:
        event.add("dtend", old.decoded("dtend"))
    event.add("summary", CANCELLED_PREFIX + summary)
    event.add(
        "description",
        _lines(
            f'No longer in the plan: this replaces "{summary}". Do not take it unless the care team says so.\n'
            + DISCLAIMER
        ),
    )
    event.add("status", "CANCELLED")
    event.add("transp", "TRANSPARENT")
    event.add("class", "PRIVATE")
    return event


def _read_previous(data: bytes, name: str, key: str) -> dict[str, icalendar.Component]:
    """The previous file's lenasched events of this calendar, by UID; refuses another calendar's file."""
    import icalendar

    try:
        ical = icalendar.Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ScheduleError(f"{name} is not an iCalendar file ({exc})") from None
    if not isinstance(ical, icalendar.Calendar):
        raise ScheduleError(f"{name} is not an iCalendar file (no VCALENDAR)")
    ours: dict[str, icalendar.Component] = {}
    others = 0
    for event in ical.walk("VEVENT"):
        uid = str(event.get("uid", ""))
        if not uid.endswith(_UID_DOMAIN):
            continue  # not written by lenasched: not ours to cancel
        if not uid.startswith(key + "."):
            others += 1
            continue
        try:
            event.decoded("dtstart")
            event.decoded("dtstamp")
        except (KeyError, ValueError) as exc:
            raise ScheduleError(f"{name}: event {uid} has no valid DTSTART or DTSTAMP ({exc})") from None
        if uid in ours:
            raise ScheduleError(f"{name}: the UID {uid} appears twice; pass the file lenasched wrote")
        ours[uid] = event
    if not ours:
        why = (
            f"its {others} lenasched event(s) belong to another patient, protocol or start date"
            if others
            else "it holds no event written by lenasched"
        )
        raise ScheduleError(
            f"{name} is not an earlier version of this calendar: {why}; pass the file this one replaces "
            "(to carry a calendar over to a new start date or protocol, give both the same --patient-id)"
        )
    return ours


def _stamp(calendar: Calendar, stamp: datetime | None, before: dict[str, icalendar.Component], name: str) -> datetime:
    latest = max((_utc(event.decoded("dtstamp")) for event in before.values()), default=None)
    if stamp is not None:
        if stamp.tzinfo is None:
            raise ScheduleError(
                f"the stamp {stamp.isoformat()} has no time zone; give it in UTC, e.g. 2027-01-15T09:00Z"
            )
        stamp = _utc(stamp)
        if latest is not None and stamp <= latest:
            raise ScheduleError(
                f"the stamp {stamp:%Y-%m-%dT%H:%M:%SZ} is not later than the latest DTSTAMP in {name} "
                f"({latest:%Y-%m-%dT%H:%M:%SZ}): calendar apps would take the update for an older version"
            )
        return stamp
    default = datetime.combine(calendar.start, time(0), tzinfo=timezone.utc)
    return default if latest is None else max(default, latest + timedelta(seconds=1))


def _utc(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0)


def _sequence(event: icalendar.Component) -> int:
    try:
        return max(0, int(event.get("sequence", 0)))
    except (TypeError, ValueError):
        return 0


def _start_key(event: icalendar.Component) -> datetime:
    return _utc(event.decoded("dtstart"))


_VOLATILE = (b"DTSTAMP", b"SEQUENCE", b"LAST-MODIFIED")


def _fingerprint(event: icalendar.Component) -> tuple[bytes, ...]:
    """The event's content lines, unfolded and sorted, without DTSTAMP and SEQUENCE: equal means unchanged."""
    lines = bytes(event.to_ical()).replace(b"\r\n ", b"").replace(b"\r\n\t", b"").split(b"\r\n")
    kept = [line for line in lines if line and re.split(rb"[;:]", line, maxsplit=1)[0].upper() not in _VOLATILE]
    return tuple(sorted(kept))


def _reminder_start(when: date, at: time, zone: ZoneInfo, warn: Callable[[str], None] | None) -> datetime:
    """``at`` on ``when`` in ``zone``, moved past a daylight-saving change that makes it missing or doubled."""
    wanted = datetime.combine(when, at, tzinfo=zone)
    problem = _clock_problem(wanted)
    if problem is None:
        return wanted
    moved = wanted
    for _ in range(24 * 60):
        moved = (moved.replace(tzinfo=None) + timedelta(minutes=1)).replace(tzinfo=zone)
        if _clock_problem(moved) is None:
            break
    if moved.date() != when or _clock_problem(moved) is not None:
        raise ScheduleError(
            f"a reminder at {at:%H:%M} on {long_date(when)} {problem[0]} in {zone.key} ({problem[1]}), and no "
            "later time that day is clear of the change; choose another reminder time"
        )
    message = (
        f"the reminder on {long_date(when)} is at {moved:%H:%M}, not {at:%H:%M}: {at:%H:%M} {problem[0]} in "
        f"{zone.key} that day ({problem[1]}), and calendar apps read such a time differently"
    )
    (warn or _default_warn)(message)
    return moved


def _clock_problem(local: datetime) -> tuple[str, str] | None:
    """None when the wall-clock time exists exactly once in its zone, else what is wrong with it."""
    first, second = local.replace(fold=0), local.replace(fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    round_trip = first.astimezone(timezone.utc).astimezone(local.tzinfo).replace(tzinfo=None, fold=0)
    if round_trip != local.replace(tzinfo=None, fold=0):
        return "does not exist", "the clocks go forward"
    return "happens twice", "the clocks go back"


def _default_warn(message: str) -> None:
    warnings.warn(message, ReminderTimeWarning, stacklevel=4)


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

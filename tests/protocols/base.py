"""Shared checks every bundled protocol must pass; each test_<id>.py adds its key days from the source.

Subclass ``ProtocolCase`` with ``protocol_id`` set, then assert key doses with ``self.dose(...)``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import ClassVar

import yaml

import lenasched
from lenasched import Calendar, Patient, Protocol
from lenasched.formats.csv import to_csv

START = date(2026, 1, 5)  # a Monday
PATIENT = Patient(bsa_m2=Decimal("1.90"), weight_kg=Decimal("70"))


class ProtocolCase:
    protocol_id: ClassVar[str]
    cycles: ClassVar[int] = 12

    @cached_property
    def protocol(self) -> Protocol:
        return lenasched.get_protocol(self.protocol_id)

    @cached_property
    def calendar(self) -> Calendar:
        return lenasched.expand(self.protocol, START, cycles=self.cycles, patient=PATIENT)

    # helpers -----------------------------------------------------------------------------------
    @staticmethod
    def date_of(study_day: int) -> date:
        """The date of ``study_day``: day 1 is START, day -1 the day before (there is no day 0)."""
        assert study_day != 0, "there is no study day 0"
        return START + timedelta(days=study_day - 1 if study_day > 0 else study_day)

    def with_labs(self, *results: tuple[int, str]) -> Calendar:
        """The calendar with lab results on study days, e.g. ``(11, "plt=25")`` (protocols with rules)."""
        from lenasched.model.labs import parse_lab_option

        labs = [parse_lab_option(f"{self.date_of(day).isoformat()}:{values}") for day, values in results]
        return lenasched.expand(self.protocol, START, cycles=self.cycles, patient=PATIENT, labs=labs)

    def dose(self, drug: str, study_day: int) -> Decimal | None:
        """Prescribed dose of ``drug`` on ``study_day`` (None = not given that day)."""
        found = [d for d in self.calendar.on(self.date_of(study_day)) if d.drug == drug]
        return found[0].dose if found else None

    def dose_mg(self, drug: str, study_day: int) -> Decimal | None:
        when = self.date_of(study_day)
        found = [d for d in self.calendar.on(when) if d.drug == drug]
        return found[0].dose_mg if found else None

    def study_days(self, drug: str, cycle: int | None = None, phase: str | None = None) -> list[int]:
        return [
            d.study_day
            for d in self.calendar.for_drug(drug)
            if (cycle is None or d.cycle == cycle) and (phase is None or d.phase == phase)
        ]

    # invariants shared by every protocol ------------------------------------------------------
    def test_file_name_is_id(self) -> None:
        assert self.protocol.id == self.protocol_id

    def test_every_value_has_a_source_or_assumption(self) -> None:
        assert self.protocol.unsourced() == []

    def test_cites_the_primary_publication(self) -> None:
        assert self.protocol.citation.title
        assert self.protocol.citation.year

    def test_no_dose_outside_its_window_and_never_above_the_cap(self) -> None:
        by_phase = {p.name: p for p in self.protocol.phases}
        lead = self.protocol.lead_in
        for day in self.calendar:
            if day.cycle is None:  # a lead-in day: before START, numbered -N..-1, on one of its listed days
                assert lead is not None and day.phase == "lead-in" and day.date < START
                assert day.study_day == day.cycle_day == (day.date - START).days
                assert any(r.drug == day.drug and day.cycle_day in r.days.value for r in lead.drugs)
                continue
            phase = by_phase[day.phase]
            regimens = [r for r in phase.drugs if r.drug == day.drug]
            assert any(r.repeat is not None or day.cycle_day in r.days_in(day.cycle) for r in regimens), (
                f"{day.drug} on rest day {day}"
            )
            assert day.dose <= max(r.max_dose for r in regimens)

    def test_cycles_tile_without_gaps_or_overlaps(self) -> None:
        windows = self.calendar.windows
        assert windows[0].start == START
        for before, after in zip(windows, windows[1:]):
            assert after.start == before.end + timedelta(days=1)
        for window in windows:
            assert len(window.on_days) + len(window.rest_days) == (window.end - window.start).days + 1

    def test_yaml_round_trip_gives_the_same_calendar(self) -> None:
        data = self.protocol.model_dump(mode="json", exclude_none=True, exclude={"includes"})
        again = lenasched.parse_protocol(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        assert lenasched.expand(again, START, cycles=self.cycles, patient=PATIENT).days == self.calendar.days

    def test_csv_is_deterministic(self) -> None:
        fresh = lenasched.expand(lenasched.get_protocol(self.protocol_id), START, cycles=self.cycles, patient=PATIENT)
        assert to_csv(fresh) == to_csv(self.calendar)

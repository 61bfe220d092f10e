"""label-mds-del5q against the REVLIMID US label (Drugs.com summary) and MDS-003 (List et al., NEJM 2006)."""

from decimal import Decimal

import pytest

import lenasched
from lenasched.model.labs import LabError, parse_lab_option
from tests.protocols.base import PATIENT, START, ProtocolCase


class TestLabelMdsDel5q(ProtocolCase):
    protocol_id = "label-mds-del5q"
    cycles = 3

    def test_first_dose_is_the_quoted_starting_dose(self) -> None:
        """Label summary: "10 mg orally once a day"."""
        regimen = self.protocol.phases[0].drugs[0]
        assert regimen.dose is not None and regimen.dose.value == Decimal(10)
        assert "10 mg" in (regimen.dose.detail or "")
        first = self.calendar.for_drug("lenalidomide")[0]
        assert (first.study_day, first.dose) == (1, regimen.dose.value)

    def test_10_mg_every_day_without_rest_days(self) -> None:
        """Label: once a day, continuously; days 21, 22, 28 and 29 are all dosing days."""
        assert [self.dose("lenalidomide", d) for d in (1, 21, 22, 28, 29, 84)] == [Decimal(10)] * 6
        assert len(self.study_days("lenalidomide")) == 3 * 28
        assert all(not w.rest_days for w in self.calendar.windows)
        assert [w.length_days for w in self.calendar.windows] == [28, 28, 28]

    def test_daily_schedule_and_28_day_cycle_are_flagged(self) -> None:
        """The label names no cycle; MDS-003 gave "10 mg ... for 21 days every 4 weeks or daily"."""
        phase = self.protocol.phases[0]
        assert phase.cycle_length_days.is_assumption
        assert phase.drugs[0].days is not None and phase.drugs[0].days.is_assumption
        assert "21 days every 4 weeks or daily" in (self.protocol.notes or "")

    def test_reduction_to_5_mg_and_never_above_10(self) -> None:
        regimen = self.protocol.phases[0].drugs[0]
        assert regimen.dose_levels is not None and regimen.dose_levels.value == [Decimal(10), Decimal(5)]
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(10)

    def test_runs_until_progression(self) -> None:
        """Label summary: "until disease progression or unacceptable toxicity"."""
        assert self.protocol.open_ended

    def test_no_unread_table_rows_as_rules(self) -> None:
        """The MDS dose-adjustment table was not read: no rules, so lab results cannot change the calendar."""
        assert self.protocol.dose_modification == []
        with pytest.raises(LabError):
            lenasched.expand(
                self.protocol,
                START,
                cycles=1,
                patient=PATIENT,
                labs=[parse_lab_option(f"{self.date_of(8).isoformat()}:plt=20")],
            )

"""label-mcl against the REVLIMID US label (Drugs.com summary) and EMERGE (Goy et al., J Clin Oncol 2013)."""

from decimal import Decimal

import pytest

import lenasched
from lenasched.model.labs import LabError, parse_lab_option
from tests.protocols.base import PATIENT, START, ProtocolCase


class TestLabelMcl(ProtocolCase):
    protocol_id = "label-mcl"
    cycles = 3

    def test_first_dose_is_the_quoted_starting_dose(self) -> None:
        """Label summary: "25 mg orally once a day on Days 1 to 21 of repeated 28-day cycles"."""
        regimen = self.protocol.phases[0].drugs[0]
        assert regimen.dose is not None and regimen.dose.value == Decimal(25)
        assert "25 mg" in (regimen.dose.detail or "")
        first = self.calendar.for_drug("lenalidomide")[0]
        assert (first.study_day, first.dose) == (1, regimen.dose.value)

    def test_25_mg_days_1_to_21_of_28(self) -> None:
        """EMERGE: "Lenalidomide 25 mg orally was administered on days 1 through 21 every 28 days"."""
        assert [self.dose("lenalidomide", d) for d in (1, 21, 22, 28, 29, 49, 50)] == [
            Decimal(25),
            Decimal(25),
            None,
            None,
            Decimal(25),
            Decimal(25),
            None,
        ]
        assert self.study_days("lenalidomide", cycle=1) == list(range(1, 22))
        assert len(self.study_days("lenalidomide")) == 3 * 21
        assert self.protocol.drugs == ("lenalidomide",)

    def test_runs_until_progression(self) -> None:
        """Label summary: "until disease progression or unacceptable toxicity"."""
        assert self.protocol.open_ended

    def test_unread_dose_levels_are_flagged(self) -> None:
        regimen = self.protocol.phases[0].drugs[0]
        assert regimen.dose_levels is not None and regimen.dose_levels.is_assumption

    def test_no_unread_table_rows_as_rules(self) -> None:
        """The MCL dose-adjustment table was not read: no rules, so lab results cannot change the calendar."""
        assert self.protocol.dose_modification == []
        with pytest.raises(LabError):
            lenasched.expand(
                self.protocol,
                START,
                cycles=1,
                patient=PATIENT,
                labs=[parse_lab_option(f"{self.date_of(8).isoformat()}:plt=20")],
            )

"""label-mm-maintenance against the REVLIMID US label, section 2.1, "Maintenance Therapy Following Auto-HSCT"."""

from datetime import timedelta
from decimal import Decimal

import pytest

import lenasched
from lenasched.model.labs import LabError, parse_lab_option
from tests.protocols.base import START, ProtocolCase

CYCLE_4 = 3 * 28 + 1  # study day of cycle 4 day 1


class TestLabelMmMaintenance(ProtocolCase):
    protocol_id = "label-mm-maintenance"
    cycles = 6

    # schedule --------------------------------------------------------------------------------
    def test_first_dose_is_the_quoted_starting_dose(self) -> None:
        """US label: "The recommended starting dose of REVLIMID is 10 mg once daily continuously"."""
        escalation = self.protocol.phases[0].drugs[0].escalation
        assert escalation is not None and escalation.sequence is not None
        assert escalation.start_dose == Decimal(10)
        assert "10 mg once daily" in (escalation.sequence.detail or "")
        first = self.calendar.for_drug("lenalidomide")[0]
        assert (first.study_day, first.dose) == (1, escalation.start_dose)

    def test_10_mg_every_day_of_cycles_1_to_3(self) -> None:
        """US label: "10 mg once daily continuously (Days 1-28 of repeated 28-day cycles)"."""
        assert self.study_days("lenalidomide", cycle=1) == list(range(1, 29))
        assert [self.dose("lenalidomide", d) for d in (1, 21, 22, 28, 29, CYCLE_4 - 1)] == [Decimal(10)] * 6
        assert all(not w.rest_days for w in self.calendar.windows)

    def test_15_mg_from_cycle_4_and_never_above(self) -> None:
        """US label: "After 3 cycles of maintenance therapy, the dose can be increased to 15 mg once daily"."""
        assert self.dose("lenalidomide", CYCLE_4) == Decimal(15)
        assert self.dose("lenalidomide", 6 * 28) == Decimal(15)
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(15)

    def test_the_increase_is_conditional_on_tolerance_and_its_day_assumed(self) -> None:
        """US label: "if tolerated"; "After 3 cycles" names no day, so the chosen day is flagged."""
        escalation = self.protocol.phases[0].drugs[0].escalation
        assert escalation is not None and escalation.conditional_on_tolerance
        assert escalation.at is not None and escalation.at.is_assumption

    def test_runs_until_progression(self) -> None:
        """US label: "until disease progression or unacceptable toxicity"."""
        assert self.protocol.open_ended

    # start condition rules ---------------------------------------------------------------------
    def test_anc_below_1000_on_day_1_keeps_maintenance_from_starting(self) -> None:
        """US label: "initiate REVLIMID maintenance therapy after adequate hematologic recovery (ANC ≥ 1000/mcL"."""
        calendar = self.with_labs((1, "anc=0.8,plt=120"))
        assert calendar.for_drug("lenalidomide") == ()

    def test_platelets_below_75000_on_day_1_keep_maintenance_from_starting(self) -> None:
        """US label: "and/or platelet counts ≥75,000/mcL" (read as both counts)."""
        calendar = self.with_labs((1, "anc=1.5,plt=60"))
        assert calendar.for_drug("lenalidomide") == ()

    def test_counts_at_the_thresholds_start_on_day_1_at_10_mg(self) -> None:
        calendar = self.with_labs((1, "anc=1.0,plt=75"))
        first = calendar.for_drug("lenalidomide")[0]
        assert (first.study_day, first.dose) == (1, Decimal(10))
        assert calendar.events is None or not calendar.events.events

    def test_start_rules_check_only_cycle_1(self) -> None:
        """The label's counts are a condition for starting maintenance, not for each cycle."""
        calendar = self.with_labs((29, "anc=0.8,plt=60"))
        assert [d.dose for d in calendar.for_drug("lenalidomide") if d.study_day in (29, 30, 57)] == [Decimal(10)] * 3

    def test_counts_that_recover_after_day_1_move_the_start_and_say_so(self) -> None:
        """Cycle 1 day 1 is the day treatment begins: a late start is a new --start, never silent lost days."""
        with pytest.raises(LabError, match=r"cycle 1 cannot start on .*recovered on .*give --start"):
            self.with_labs((1, "anc=0.8,plt=120"), (8, "anc=1.2,plt=120"))

    def test_a_pre_treatment_result_in_the_window_counts_for_the_start(self) -> None:
        low = lenasched.expand(
            self.protocol,
            START,
            cycles=1,
            labs=[parse_lab_option(f"{(START - timedelta(days=3)).isoformat()}:anc=0.8")],
        )
        assert low.for_drug("lenalidomide") == ()
        with pytest.raises(LabError, match="before the start"):
            lenasched.expand(
                self.protocol,
                START,
                cycles=1,
                labs=[parse_lab_option(f"{(START - timedelta(days=30)).isoformat()}:anc=0.8")],
            )

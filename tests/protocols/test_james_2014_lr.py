"""james-2014-lr against the review's paragraph on James et al. [23] (the trial's own paper was not read)."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase

CYCLE_2_START = 36  # cycle 1 is 35 days


class TestJames2014Lr(ProtocolCase):
    protocol_id = "james-2014-lr"
    cycles = 7

    def test_35_day_cycle_1_then_six_28_day_cycles(self) -> None:
        """Review: "21 days in 35-day cycle for the first cycle, then ... 28-day cycles for other 6 cycles"."""
        assert [w.length_days for w in self.calendar.windows] == [35] + [28] * 6
        assert self.calendar.windows[1].cycle == 2
        assert (self.calendar.windows[1].start - self.calendar.windows[0].start).days + 1 == CYCLE_2_START
        assert (self.calendar.windows[-1].end - self.calendar.windows[0].start).days + 1 == 35 + 6 * 28

    def test_lenalidomide_days_1_to_21_with_rest_to_day_35_in_cycle_1(self) -> None:
        """Review: "lenalidomide for 21 days in 35-day cycle for the first cycle"."""
        assert self.study_days("lenalidomide", cycle=1) == list(range(1, 22))
        assert all(self.dose("lenalidomide", d) is None for d in range(22, CYCLE_2_START))
        assert self.study_days("lenalidomide", cycle=2) == list(range(CYCLE_2_START, CYCLE_2_START + 21))

    def test_escalation_2_5_then_5_on_day_8_then_10_from_cycle_2(self) -> None:
        """Review: "2,5 mg daily with an escalation up to 5 mg and 10 mg on day 8, if tolerated" (reading assumed)."""
        expected: dict[int, str | int] = {1: "2.5", 7: "2.5", 8: 5, 21: 5, CYCLE_2_START: 10, CYCLE_2_START + 20: 10}
        assert {d: self.dose("lenalidomide", d) for d in expected} == {d: Decimal(x) for d, x in expected.items()}
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(10)

    def test_escalation_timing_is_marked_as_an_assumption(self) -> None:
        """The day-8 wording is ambiguous; the chosen reading must be flagged."""
        escalation = self.protocol.phases[0].drugs[0].escalation
        assert escalation is not None and escalation.at is not None and escalation.at.is_assumption

    def test_stepped_rituximab_on_days_29_31_33_of_cycle_1(self) -> None:
        """Review: "rituximab was given 50 mg/m2 on day 29, and 325 mg/m2 on day 31, 375 mg/m2 on day 33"."""
        assert self.study_days("rituximab", cycle=1) == [29, 31, 33]
        assert [self.dose_mg("rituximab", d) for d in (29, 31, 33)] == [
            Decimal("95"),
            Decimal("617.5"),
            Decimal("712.5"),
        ]

    def test_rituximab_weekly_in_cycle_2(self) -> None:
        """Review: "During the second cycle rituximab was administered 375 mg/m2 weekly" (days 1, 8, 15, 22 assumed)."""
        assert self.study_days("rituximab", cycle=2) == [CYCLE_2_START + k for k in (0, 7, 14, 21)]
        assert self.dose("rituximab", CYCLE_2_START) == Decimal(375)

    def test_rituximab_day_1_of_cycles_3_to_7(self) -> None:
        """Review: "and on day 1 during remaining cycles"; 3 + 4 + 5 = 12 infusions."""
        later = [d for d in self.study_days("rituximab") if d >= CYCLE_2_START + 28]
        assert later == [CYCLE_2_START + 28 * k for k in range(1, 6)]
        assert len(self.study_days("rituximab")) == 12

    def test_aspirin_every_day_of_treatment(self) -> None:
        """Review: "The protocol was amended to include aspirin prophylaxis" (81 mg daily assumed)."""
        assert self.study_days("aspirin") == list(range(1, 204))
        assert self.dose_mg("aspirin", 30) == Decimal(81)
        assert {d.role for d in self.calendar.for_drug("aspirin")} == {"prophylaxis"}

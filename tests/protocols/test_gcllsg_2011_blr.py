"""gcllsg-2011-blr against ASH 2011 abstract 4618 (Blood 118(21)) and the review's paragraph on ref [28] (BLR)."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase

INDUCTION_END = 6 * 28


class TestGcllsg2011Blr(ProtocolCase):
    protocol_id = "gcllsg-2011-blr"
    cycles = 12  # 6 BLR cycles, 6 lenalidomide cycles; the 7-day lead-in is not a cycle

    def test_seven_day_lenalidomide_lead_in_at_5_mg_before_cycle_1(self) -> None:
        """Abstract 4618: "all pts received L 5 mg po daily D-7 through D-1" (the review: "for 7 days")."""
        assert self.study_days("lenalidomide", phase="lead-in") == [-7, -6, -5, -4, -3, -2, -1]
        assert {self.dose("lenalidomide", d) for d in range(-7, 0)} == {Decimal(5)}
        assert self.dose("rituximab", -1) is None and self.dose("bendamustine", -1) is None
        assert self.calendar.windows[0].phase == "induction" and self.calendar.windows[0].cycle == 1

    def test_allopurinol_300_mg_day_minus_2_to_day_14_of_cycle_1(self) -> None:
        """Abstract 4618: "allopurinol 300 mg po daily D-2 to D14 of Cycle 1" (there is no day 0)."""
        assert self.study_days("allopurinol") == [-2, -1, *range(1, 15)]
        assert self.dose_mg("allopurinol", -2) == Decimal(300)

    def test_rituximab_375_day_1_and_bendamustine_90_days_1_and_2(self) -> None:
        """Abstract 4618: "B 90 mg/m2 IV on D1, 2" of "each 28-day cycle"; review: "rituximab 375 mg/m? on day 1"."""
        assert self.study_days("rituximab") == [1 + 28 * k for k in range(6)]
        assert self.study_days("bendamustine", cycle=1) == [1, 2]
        assert self.dose_mg("bendamustine", 1) == Decimal(171)
        assert self.dose_mg("rituximab", 1) == Decimal("712.5")

    def test_lenalidomide_daily_without_a_break_through_both_phases(self) -> None:
        """Review: "lenalidomide orally daily every 28 days" (days 1-28 assumed), then monotherapy; 5 mg (cohort 1)."""
        days = self.study_days("lenalidomide")
        assert days == [*range(-7, 0), *range(1, 12 * 28 + 1)]
        assert {d.dose for d in self.calendar.for_drug("lenalidomide")} == {Decimal(5)}

    def test_lenalidomide_after_cycle_1_is_an_assumption(self) -> None:
        """Stage I fixes 5 mg in cycle 1 only; the dose of later cycles (the cohort's) is marked as assumed."""
        later = [r for p in self.protocol.phases for r in p.drugs if r.drug == "lenalidomide"]
        assert later and all(r.dose is not None and r.dose.is_assumption for r in later)

    def test_six_more_cycles_of_lenalidomide_alone(self) -> None:
        """Abstract 4618: "6 cycles of BL followed by 6 cycles of L"; review: "for an additional 6 cycles"."""
        assert self.study_days("bendamustine", phase="continuation") == []
        assert self.study_days("rituximab", phase="continuation") == []
        assert self.dose("lenalidomide", INDUCTION_END + 1) == Decimal(5)
        assert [w.phase for w in self.calendar.windows].count("continuation") == 6
        assert self.protocol.total_cycles == 12

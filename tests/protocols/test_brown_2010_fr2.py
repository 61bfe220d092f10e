"""brown-2010-fr2 against the ASH 2009 abstract of Brown et al. (Leukemia 2010) and the review's text."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestBrown2010Fr2(ProtocolCase):
    protocol_id = "brown-2010-fr2"
    cycles = 6

    def test_lenalidomide_2_5_mg_days_1_to_21_then_a_week_off(self) -> None:
        """ASH 2009: 'lenalidomide 2.5 mg administered on days 1-21 of a 28-day cycle'."""
        assert self.study_days("lenalidomide", cycle=1) == list(range(1, 22))
        assert self.dose("lenalidomide", 1) == Decimal("2.5")
        assert self.dose("lenalidomide", 21) == Decimal("2.5")
        assert all(self.dose("lenalidomide", d) is None for d in range(22, 29))
        assert self.dose("lenalidomide", 29) == Decimal("2.5")

    def test_never_escalated(self) -> None:
        """Cohort design: no intra-patient escalation is described."""
        assert {d.dose for d in self.calendar.for_drug("lenalidomide")} == {Decimal("2.5")}

    def test_fludarabine_25_mg_m2_days_1_to_3_as_in_the_abstract(self) -> None:
        """ASH 2009: 'fludarabine 25 mg/m2 days 1-3' (the review's days 3-5 is recorded as a difference)."""
        assert self.study_days("fludarabine", cycle=1) == [1, 2, 3]
        assert self.study_days("fludarabine", cycle=2) == [29, 30, 31]
        assert self.dose_mg("fludarabine", 1) == Decimal("47.5")
        sourced = self.protocol.phases[0].drugs[1].days
        assert sourced is not None and sourced.differs_from_review

    def test_rituximab_375_mg_m2_day_1_of_each_cycle(self) -> None:
        """ASH 2009 and review: 'rituximab 375 mg/m2 day 1'."""
        assert self.study_days("rituximab") == [1 + 28 * k for k in range(6)]
        assert self.dose_mg("rituximab", 1) == Decimal("712.5")

    def test_six_28_day_cycles_then_stop(self) -> None:
        """28-day cycle (ASH 2009); 6 cycles is an assumption."""
        assert self.protocol.total_cycles == 6
        assert self.protocol.phases[0].cycles is not None and self.protocol.phases[0].cycles.is_assumption
        assert len(self.calendar.windows) == 6
        assert (self.calendar.windows[-1].end - self.calendar.windows[0].start).days + 1 == 6 * 28
        assert max(d.study_day for d in self.calendar) == 5 * 28 + 21

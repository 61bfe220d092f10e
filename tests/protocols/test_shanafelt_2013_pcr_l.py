"""shanafelt-2013-pcr-l against the ASH 2011 abstract (3899), the NCT00602836 outline and the review."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase

INDUCTION_DAYS = 6 * 21


class TestShanafelt2013PcrL(ProtocolCase):
    protocol_id = "shanafelt-2013-pcr-l"
    cycles = 12

    def test_pc_on_day_1_every_21_days(self) -> None:
        """ASH 2011: 'pentostatin (2 mg/m2), cyclophosphamide (600 mg/m2) ... given every 21 days'; NCT: day 1."""
        day1s = [1 + 21 * k for k in range(6)]
        assert self.study_days("pentostatin") == day1s
        assert self.study_days("cyclophosphamide") == day1s
        assert self.dose_mg("pentostatin", 1) == Decimal("3.8")
        assert self.dose_mg("cyclophosphamide", 1) == Decimal(1140)

    def test_course_1_rituximab_split_over_days_1_and_2(self) -> None:
        """NCT: 'rituximab IV over 4 hours on days 1 and 2 of course 1' (the 100/275 split is assumed)."""
        assert self.study_days("rituximab", cycle=1) == [1, 2]
        assert [self.dose("rituximab", 1), self.dose("rituximab", 2)] == [Decimal(100), Decimal(275)]
        split = self.protocol.phases[0].drugs[2].first_doses
        assert split is not None and split.is_assumption

    def test_later_courses_rituximab_375_on_day_1(self) -> None:
        """NCT: 'over 1 hour on day 1 of each subsequent course'; ASH 2011: 375 mg/m2."""
        assert self.study_days("rituximab", phase="induction")[2:] == [1 + 21 * k for k in range(1, 6)]
        assert self.dose_mg("rituximab", 22) == Decimal("712.5")
        assert self.dose("rituximab", 23) is None

    def test_pegfilgrastim_on_day_2_of_each_course(self) -> None:
        """NCT: 'pegfilgrastim subcutaneously on day 2'."""
        assert self.study_days("pegfilgrastim") == [2 + 21 * k for k in range(6)]

    def test_consolidation_starts_after_six_pcr_courses_at_5_mg(self) -> None:
        """ASH 2011: 'Patients subsequently received ... lenalidomide ... starting dose of 5 mg/day'."""
        start = INDUCTION_DAYS + 1
        assert self.study_days("lenalidomide")[0] == start
        assert self.calendar.windows[6].phase == "consolidation"
        assert self.dose("lenalidomide", start) == Decimal(5)
        assert self.dose("lenalidomide", start + 27) == Decimal(5)

    def test_escalation_to_10_mg_after_the_first_cycle_and_no_higher(self) -> None:
        """ASH 2011: 'escalation to 10 mg/day after the first cycle as tolerated'."""
        c2 = INDUCTION_DAYS + 28 + 1
        assert self.dose("lenalidomide", c2) == Decimal(10)
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(10)

    def test_six_months_of_daily_lenalidomide(self) -> None:
        """ASH 2011: '6 months of lenalidomide consolidation by daily administration' (6 x 28 days assumed)."""
        assert len(self.study_days("lenalidomide")) == 6 * 28
        assert self.protocol.total_cycles == 12

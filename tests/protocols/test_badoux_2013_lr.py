"""badoux-2013-lr against Badoux et al., J Clin Oncol 2013 (abstract), its ASH 2009 interim abstract 206, the
NCT00759603 record and the review's [22]."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestBadoux2013Lr(ProtocolCase):
    protocol_id = "badoux-2013-lr"

    def test_lenalidomide_10_mg_from_cycle_1_day_9(self) -> None:
        """Abstract: "Lenalidomide was started on day 9 of cycle one at 10 mg orally"."""
        assert all(self.dose("lenalidomide", d) is None for d in range(1, 9))
        assert self.dose("lenalidomide", 9) == Decimal(10)
        assert self.study_days("lenalidomide", cycle=1) == list(range(9, 29))

    def test_lenalidomide_daily_without_rest_days_after_cycle_1(self) -> None:
        """Abstract: "administered daily continuously"; every day of cycles 2-12, always 10 mg."""
        assert self.study_days("lenalidomide", cycle=2) == list(range(29, 57))
        assert len(self.study_days("lenalidomide")) == 20 + 11 * 28
        assert {d.dose for d in self.calendar.for_drug("lenalidomide")} == {Decimal(10)}
        assert all(not w.rest_days for w in self.calendar.windows[1:])

    def test_rituximab_weekly_in_cycle_1(self) -> None:
        """ASH 2009: "All pts received rituximab (375 mg/m2) intravenously on days 1, 8, 15 and 22 of cycle 1"."""
        assert self.study_days("rituximab", cycle=1) == [1, 8, 15, 22]
        assert self.dose("rituximab", 1) == Decimal(375)
        assert self.dose_mg("rituximab", 1) == Decimal("712.5")

    def test_no_rituximab_in_cycle_2(self) -> None:
        """Registry: "You will not receive rituximab during Cycle 2" (the review omits this gap)."""
        assert self.study_days("rituximab", cycle=2) == []

    def test_rituximab_day_1_of_cycles_3_to_12(self) -> None:
        """Abstract: "on day 1 of cycles three to 12"; 4 + 10 = 14 infusions of 712.5 mg at 1.90 m²."""
        later = [d for d in self.study_days("rituximab") if d > 56]
        assert later == [1 + 28 * k for k in range(2, 12)]
        assert len(self.study_days("rituximab")) == 14
        assert self.dose_mg("rituximab", 57) == Decimal("712.5")

    def test_twelve_28_day_cycles(self) -> None:
        """Abstract: "Each cycle was 28 days"; review: "continuing daily for 12 cycles"."""
        assert self.protocol.total_cycles == 12
        assert [w.length_days for w in self.calendar.windows] == [28] * 12
        assert self.dose("lenalidomide", 336) == Decimal(10)

    def test_allopurinol_300_mg_during_the_first_two_weeks(self) -> None:
        """ASH 2009: "During the first two weeks of therapy, allopurinol at the dose of 300 mg daily was prescribed
        as prophylaxis for tumor lysis" (read as days 1-14 of cycle 1)."""
        assert self.study_days("allopurinol") == list(range(1, 15))
        assert self.dose_mg("allopurinol", 1) == Decimal(300)
        assert self.dose("allopurinol", 14) == Decimal(300)
        assert self.dose("allopurinol", 15) is None
        assert self.study_days("allopurinol", cycle=2) == []

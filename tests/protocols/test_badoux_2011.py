"""badoux-2011 against Badoux et al., Blood 2011 (abstract) and the ASH 2008 abstract of the same trial."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestBadoux2011(ProtocolCase):
    protocol_id = "badoux-2011"

    def test_56_day_lead_in_at_5_mg(self) -> None:
        assert self.dose("lenalidomide", 1) == Decimal(5)
        assert self.dose("lenalidomide", 56) == Decimal(5)

    def test_plus_5_mg_every_28_days_after_the_lead_in(self) -> None:
        assert [self.dose("lenalidomide", d) for d in (57, 84, 85, 112, 113, 140)] == [
            Decimal(x) for x in (10, 10, 15, 15, 20, 20)
        ]

    def test_cap_25_mg_from_day_141_and_never_above(self) -> None:
        assert self.dose("lenalidomide", 141) == Decimal(25)
        assert self.dose("lenalidomide", 336) == Decimal(25)
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(25)

    def test_daily_without_rest_days(self) -> None:
        assert len(self.study_days("lenalidomide")) == 12 * 28
        assert all(not w.rest_days for w in self.calendar.windows)

    def test_allopurinol_300_mg_days_1_to_14_of_cycle_1(self) -> None:
        assert self.study_days("allopurinol") == list(range(1, 15))
        assert self.dose("allopurinol", 14) == Decimal(300)

    def test_runs_until_progression(self) -> None:
        assert self.protocol.open_ended

"""chanan-khan-2006 (amended, group B) against the review (section 3.1, Table 1) and the trial's ASH 2008 abstract."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestChananKhan2006(ProtocolCase):
    protocol_id = "chanan-khan-2006"

    def test_starts_at_5_mg(self) -> None:
        """Review: "a dose escalation beginning at 5 mg/day" (ASH 2008's 10 mg is noted, not used)."""
        assert self.dose("lenalidomide", 1) == Decimal(5)
        assert self.dose("lenalidomide", 14) == Decimal(5)

    def test_plus_5_mg_every_14_days(self) -> None:
        """ASH 2008: "escalations of 5 mg every 1-2 weeks"; 14 calendar days assumed, rest week counted."""
        expected = {15: 10, 21: 10, 29: 15, 42: 15, 43: 20, 49: 20}
        assert {d: self.dose("lenalidomide", d) for d in expected} == {d: Decimal(x) for d, x in expected.items()}

    def test_target_25_mg_from_cycle_3_and_never_above(self) -> None:
        """Review: "a target dose of 25 mg/day"; the fourth step (day 57) is cycle 3 day 1."""
        assert self.dose("lenalidomide", 57) == Decimal(25)
        assert self.dose("lenalidomide", 301) == Decimal(25)
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(25)

    def test_days_1_to_21_of_28_day_cycles(self) -> None:
        """JCO abstract: "on days 1 through 21 of a 28-day cycle" (kept for group B as an assumption)."""
        assert self.study_days("lenalidomide", cycle=1) == list(range(1, 22))
        assert self.study_days("lenalidomide", cycle=2) == list(range(29, 50))
        assert all(self.dose("lenalidomide", d) is None for d in range(22, 29))

    def test_prednisone_20_mg_days_1_to_5_then_10_mg_days_6_to_10_of_cycle_1_only(self) -> None:
        """Review: "20 mg daily for 5 days followed by 10 mg for 5 days ... on days 1 to 10 of cycle 1"."""
        assert self.study_days("prednisone") == list(range(1, 11))
        assert [self.dose_mg("prednisone", d) for d in (1, 5, 6, 10)] == [Decimal(x) for x in (20, 20, 10, 10)]

    def test_runs_until_progression(self) -> None:
        """JCO abstract: "until disease progression, unacceptable toxicity, or complete remission"."""
        assert self.protocol.open_ended

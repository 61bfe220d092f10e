"""chen-2011-original against the trial's ASH 2007 abstract: 10 mg "with weekly 5mg dose escalations" to 25 mg."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestChen2011Original(ProtocolCase):
    protocol_id = "chen-2011-original"

    def test_weekly_5_mg_steps_in_cycle_1(self) -> None:
        """ASH 2007: "Starting dose for lenalidomide: 10mg daily with weekly 5mg dose escalations"."""
        expected = {1: 10, 7: 10, 8: 15, 14: 15, 15: 20, 21: 20}
        assert {d: self.dose("lenalidomide", d) for d in expected} == {d: Decimal(x) for d, x in expected.items()}

    def test_target_25_mg_from_cycle_2_day_1(self) -> None:
        """ASH 2007: "to the target dose of 25mg daily x 21 days every 28 day cycle"; the day-22 step is a rest day."""
        assert all(self.dose("lenalidomide", d) is None for d in range(22, 29))
        assert self.dose("lenalidomide", 29) == Decimal(25)
        assert self.study_days("lenalidomide", cycle=2) == list(range(29, 50))
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(25)

    def test_allopurinol_and_aspirin(self) -> None:
        """ASH 2007: "Prophylactic allopurinol and ASA are mandated" (300 mg cycle 1, 81 mg daily assumed)."""
        assert self.study_days("allopurinol") == list(range(1, 22))
        assert self.dose_mg("allopurinol", 21) == Decimal(300)
        assert self.study_days("aspirin") == list(range(1, 12 * 28 + 1))
        assert self.dose_mg("aspirin", 28) == Decimal(81)

"""chen-2011 (amended) against the trial's ASH 2008 abstract: "2.5mg cycle 1, 5mg cycle 2, 10mg cycle 3 and thereon"."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestChen2011(ProtocolCase):
    protocol_id = "chen-2011"

    def test_one_dose_level_per_cycle(self) -> None:
        """ASH 2008: "2.5mg cycle 1, 5mg cycle 2, 10mg cycle 3 and thereon"."""
        expected: dict[int, str | int] = {1: "2.5", 21: "2.5", 29: 5, 49: 5, 57: 10, 77: 10, 309: 10}
        assert {d: self.dose("lenalidomide", d) for d in expected} == {d: Decimal(x) for d, x in expected.items()}
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(10)

    def test_days_1_to_21_of_28(self) -> None:
        """ASH 2008: "(2.5mg and 10mg, respectively, days 1-21)"; 28-day cycle from the original protocol."""
        assert self.study_days("lenalidomide", cycle=1) == list(range(1, 22))
        assert all(self.dose("lenalidomide", d) is None for d in range(22, 29))
        assert self.study_days("lenalidomide", cycle=3) == list(range(57, 78))

    def test_allopurinol_cycles_1_to_3(self) -> None:
        """ASH 2008: "extend allopurinol tumor lysis prophylaxis to minimum 3 cycles" (300 mg, days 1-21 assumed)."""
        assert self.study_days("allopurinol") == [*range(1, 22), *range(29, 50), *range(57, 78)]
        assert self.dose_mg("allopurinol", 1) == Decimal(300)

    def test_low_dose_aspirin_every_day(self) -> None:
        """ASH 2008: "DVT prophylaxis with low dose ASA was mandated" (81 mg daily assumed)."""
        assert self.study_days("aspirin") == list(range(1, 12 * 28 + 1))
        assert self.dose_mg("aspirin", 25) == Decimal(81)

    def test_runs_until_progression(self) -> None:
        """Assumption: "10mg cycle 3 and thereon" gives no end."""
        assert self.protocol.open_ended

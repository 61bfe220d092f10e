"""aue-2009 against the review ("10 mg daily for 21 days of a 42-day cycle, for a total of 4 cycles") and ASH 2010."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestAue2009(ProtocolCase):
    protocol_id = "aue-2009"
    cycles = 4

    def test_10_mg_days_1_to_21_of_each_42_day_cycle(self) -> None:
        """Review: "10 mg daily for 21 days of a 42-day cycle"; Haematologica: "3 weeks on a 6-week cycle"."""
        on = [*range(1, 22), *range(43, 64), *range(85, 106), *range(127, 148)]
        assert self.study_days("lenalidomide") == on
        assert {d.dose for d in self.calendar.for_drug("lenalidomide")} == {Decimal(10)}
        assert all(self.dose("lenalidomide", d) is None for d in range(22, 43))

    def test_four_cycles_then_stop(self) -> None:
        """Review: "for a total of 4 cycles" (168 days)."""
        assert self.protocol.total_cycles == 4
        assert len(self.calendar.windows) == 4
        assert (self.calendar.windows[-1].end - self.calendar.windows[0].start).days + 1 == 168

    def test_allopurinol_cycles_1_to_3(self) -> None:
        """ASH 2010: "TLS prophylaxis with Allopurinol was mandated during cycle 1-3" (300 mg, days 1-21 assumed)."""
        assert self.study_days("allopurinol") == [*range(1, 22), *range(43, 64), *range(85, 106)]
        assert self.dose_mg("allopurinol", 85) == Decimal(300)

"""badoux-2010-lo against the review's [24] and the summary of the full paper (Vitale et al., Clin Cancer Res).

The id was badoux-2011-lo until lenasched 0.2 (still accepted as an alias; see tests/test_aliases.py).
"""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


def cycle_start(cycle: int) -> int:
    return 1 + 28 * (cycle - 1)


class TestBadoux2010Lo(ProtocolCase):
    protocol_id = "badoux-2010-lo"
    cycles = 24

    def test_lenalidomide_10_mg_daily_from_cycle_1_day_9(self) -> None:
        """Review: "10 mg daily continuously from day 9 of cycle 1"."""
        assert all(self.dose("lenalidomide", d) is None for d in range(1, 9))
        assert self.study_days("lenalidomide", cycle=1) == list(range(9, 29))
        assert self.dose("lenalidomide", 9) == Decimal(10)

    def test_lenalidomide_continuous_for_24_cycles(self) -> None:
        """Review: "treatment duration of 24 months"; 20 + 23 x 28 = 664 daily doses, no rest days after day 8."""
        assert len(self.study_days("lenalidomide")) == 664
        assert self.dose("lenalidomide", 24 * 28) == Decimal(10)
        assert all(not w.rest_days for w in self.calendar.windows[1:])
        assert [w.length_days for w in self.calendar.windows] == [28] * 24

    def test_ofatumumab_300_then_1000_mg_weekly_in_cycle_1(self) -> None:
        """Summary: "300 mg IV on day 1; 1000 mg on days 8, 15, and 22 during cycle 1"."""
        assert self.study_days("ofatumumab", cycle=1) == [1, 8, 15, 22]
        assert [self.dose_mg("ofatumumab", d) for d in (1, 8, 15, 22)] == [Decimal(x) for x in (300, 1000, 1000, 1000)]

    def test_no_ofatumumab_in_cycle_2(self) -> None:
        """Inferred from "1000 mg on day 1 during cycles 3 to 6" (an assumption)."""
        assert self.study_days("ofatumumab", cycle=2) == []

    def test_ofatumumab_day_1_of_cycles_3_to_6(self) -> None:
        """Summary: "1000 mg on day 1 during cycles 3 to 6"."""
        monthly = [d for d in self.study_days("ofatumumab") if cycle_start(3) <= d < cycle_start(7)]
        assert monthly == [cycle_start(c) for c in range(3, 7)]
        assert self.dose("ofatumumab", cycle_start(3)) == Decimal(1000)

    def test_ofatumumab_every_other_cycle_7_to_23(self) -> None:
        """Summary: "once every other course during cycles 7 to 24" (odd cycles assumed); 17 infusions in all."""
        late = [d for d in self.study_days("ofatumumab") if d >= cycle_start(7)]
        assert late == [cycle_start(c) for c in range(7, 24, 2)]
        assert self.dose("ofatumumab", cycle_start(8)) is None
        assert self.dose("ofatumumab", cycle_start(24)) is None
        assert len(self.study_days("ofatumumab")) == 17

"""blum-2011-fl against the review's text on Blum et al. [29] and the NCT00735930 registry outline."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestBlum2011Fl(ProtocolCase):
    protocol_id = "blum-2011-fl"
    cycles = 8

    def test_cycle_1_is_flavopiridol_alone_on_days_1_8_15(self) -> None:
        """Review: '60 mg/m? on days 1, 8, and 15 during first cycle'; registry: 'followed by a week of rest'."""
        assert self.study_days("flavopiridol", cycle=1) == [1, 8, 15]
        assert self.study_days("lenalidomide", cycle=1) == []
        assert self.dose_mg("flavopiridol", 1) == Decimal(114)
        assert self.calendar.windows[0].rest_days[-1] == self.calendar.windows[0].end

    def test_from_cycle_2_flavopiridol_on_days_3_10_17(self) -> None:
        """Review: 'from second cycle at 60 mg/m? on days 3, 10, and 17'."""
        assert self.study_days("flavopiridol", cycle=2) == [31, 38, 45]
        assert self.study_days("flavopiridol", cycle=8) == [7 * 28 + d for d in (3, 10, 17)]
        assert self.dose_mg("flavopiridol", 31) == Decimal(114)

    def test_lenalidomide_days_1_to_21_from_cycle_2(self) -> None:
        """Registry: 'Beginning in course 2 ..., patients receive oral lenalidomide on days 1-21'."""
        assert self.study_days("lenalidomide", cycle=2) == list(range(29, 50))
        assert all(self.dose("lenalidomide", d) is None for d in range(50, 57))
        assert self.dose("lenalidomide", 57) == Decimal("2.5")

    def test_first_cohort_stays_at_2_5_mg(self) -> None:
        """Review: 'initial dose of 2,5mg'; cohorts (2.5/5/7.5 mg reached), so no intra-patient escalation."""
        assert {d.dose for d in self.calendar.for_drug("lenalidomide")} == {Decimal("2.5")}
        lena = self.protocol.phases[0].drugs[1]
        assert lena.dose is not None and lena.dose.is_assumption

    def test_28_day_cycles_and_8_cycles_are_flagged(self) -> None:
        """Review: 'these 28-day cycles' (registry: every 5 weeks, flagged); 8 cycles (range 2-8) assumed."""
        phase = self.protocol.phases[0]
        assert phase.cycle_length_days.value == 28 and phase.cycle_length_days.is_assumption
        assert phase.cycles is not None and phase.cycles.is_assumption
        assert self.protocol.total_cycles == 8

"""continuum-2012 against the CONTINUUM abstract (Lancet Haematol 2017) and the review's text on ref [32]."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestContinuum2012(ProtocolCase):
    protocol_id = "continuum-2012"

    def test_starts_at_2_5_mg(self) -> None:
        """Abstract: "oral lenalidomide (2.5 mg/day)"."""
        assert self.dose("lenalidomide", 1) == Decimal("2.5")
        assert self.dose("lenalidomide", 28) == Decimal("2.5")

    def test_days_1_to_28_of_every_28_day_cycle(self) -> None:
        """Review: "lenalidomide is given on days 1-28 of a 28 day cycle"."""
        assert len(self.study_days("lenalidomide")) == 12 * 28
        assert all(not w.rest_days for w in self.calendar.windows)
        assert [w.length_days for w in self.calendar.windows] == [28] * 12

    def test_escalation_to_5_then_10_mg_timing_assumed(self) -> None:
        """Abstract: escalation "to 5 mg or 10 mg per day" if tolerated; from cycles 2 and 7 (assumed)."""
        expected = {29: 5, 168: 5, 169: 10, 336: 10}
        assert {d: self.dose("lenalidomide", d) for d in expected} == {d: Decimal(x) for d, x in expected.items()}
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(10)
        escalation = self.protocol.phases[0].drugs[0].escalation
        assert escalation is not None and escalation.at is not None and escalation.at.is_assumption
        assert escalation.conditional_on_tolerance

    def test_runs_until_progression(self) -> None:
        """Review and abstract: "until disease progression or unacceptable toxicity"."""
        assert self.protocol.open_ended

"""egle-2010-flr against the review's text on Egle et al. [27] and the REVLIRIT CLL-5 final paper (abstract)."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase

INDUCTION_DAYS = 6 * 28


class TestEgle2010Flr(ProtocolCase):
    protocol_id = "egle-2010-flr"
    cycles = 12

    def test_cycle_1_lenalidomide_2_5_mg_on_days_7_to_21(self) -> None:
        """Review: 'starting dose of 2,5mg daily (days 7-21 in cycle 1)'."""
        assert self.study_days("lenalidomide", cycle=1, phase="induction") == list(range(7, 22))
        assert self.dose("lenalidomide", 6) is None
        assert self.dose("lenalidomide", 7) == Decimal("2.5")
        assert self.dose("lenalidomide", 21) == Decimal("2.5")

    def test_later_cycles_days_1_to_21_escalating_to_25_mg(self) -> None:
        """Review: 'escalated up to 25 mg/day from days 1-21 of the following cycles' (steps assumed)."""
        firsts = [self.dose("lenalidomide", 1 + 28 * k) for k in range(1, 6)]
        assert firsts == [Decimal(x) for x in (5, 10, 15, 20, 25)]
        assert self.study_days("lenalidomide", cycle=2, phase="induction") == list(range(29, 50))
        assert all(self.dose("lenalidomide", d) is None for d in range(50, 57))
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(25)

    def test_escalation_steps_are_marked_as_assumptions(self) -> None:
        """Only 2.5 mg and 25 mg are stated; the steps and their timing are assumptions."""
        lena = self.protocol.phases[0].drugs[0]
        assert lena.escalation is not None and lena.escalation.sequence is not None
        assert lena.escalation.sequence.is_assumption
        assert lena.escalation.every_cycles is not None and lena.escalation.every_cycles.is_assumption

    def test_fr_backbone_days_1_to_5_and_day_1_assumed(self) -> None:
        """F/R doses were not found: standard FR (fludarabine 25 mg/m2 days 1-5, rituximab 375 mg/m2 day 1)."""
        assert self.study_days("fludarabine", cycle=1) == [1, 2, 3, 4, 5]
        assert self.dose_mg("fludarabine", 1) == Decimal("47.5")
        assert self.study_days("rituximab", phase="induction") == [1 + 28 * k for k in range(6)]
        assert self.dose_mg("rituximab", 1) == Decimal("712.5")

    def test_six_induction_cycles_then_six_months_of_maintenance(self) -> None:
        """Review: '6 cycles' then 'maintenance with lenalidomide and rituximab for 6 months'."""
        phases = [(w.phase, w.cycle) for w in self.calendar.windows]
        assert phases[5] == ("induction", 6) and phases[6] == ("maintenance", 1)
        assert self.protocol.total_cycles == 12
        first_maintenance_day = INDUCTION_DAYS + 1
        assert self.dose("fludarabine", first_maintenance_day) is None
        assert self.dose("lenalidomide", first_maintenance_day) == Decimal(5)
        assert self.study_days("fludarabine", phase="maintenance") == []

    def test_maintenance_lenalidomide_dose_stays_an_assumption(self) -> None:
        """Registry: maintenance lenalidomide "at the pre-determined maximum tolerated dose", but the final paper
        found no MTD, so the 5 mg maintenance dose stays a marked placeholder."""
        maintenance = self.protocol.phases[1]
        lena = next(r for r in maintenance.drugs if r.drug == "lenalidomide")
        assert lena.dose is not None and lena.dose.is_assumption and lena.dose.value == Decimal(5)
        assert "nct_text" in self.protocol.references

    def test_maintenance_rituximab_every_3_months(self) -> None:
        """Assumed schedule: rituximab 375 mg/m2 on day 1 of maintenance cycles 1 and 4."""
        assert self.study_days("rituximab", phase="maintenance") == [INDUCTION_DAYS + 1, INDUCTION_DAYS + 1 + 3 * 28]

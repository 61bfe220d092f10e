"""label-fl-mzl-r2 against the REVLIMID US label (Drugs.com summary) and AUGMENT (Leonard et al., JCO 2019)."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestLabelFlMzlR2(ProtocolCase):
    protocol_id = "label-fl-mzl-r2"
    cycles = 12

    def test_first_dose_is_the_quoted_starting_dose(self) -> None:
        """Label summary: "20 mg orally once a day on Days 1 through 21 of repeated 28-day cycles"."""
        regimen = self.protocol.phases[0].drugs[0]
        assert regimen.drug == "lenalidomide"
        assert regimen.dose is not None and regimen.dose.value == Decimal(20)
        assert "20 mg" in (regimen.dose.detail or "")
        first = self.calendar.for_drug("lenalidomide")[0]
        assert (first.study_day, first.dose) == (1, regimen.dose.value)

    def test_lenalidomide_20_mg_days_1_to_21_of_28(self) -> None:
        assert [self.dose("lenalidomide", d) for d in (1, 21, 22, 28, 29)] == [
            Decimal(20),
            Decimal(20),
            None,
            None,
            Decimal(20),
        ]
        assert self.study_days("lenalidomide", cycle=12) == list(range(11 * 28 + 1, 11 * 28 + 22))

    def test_up_to_12_cycles(self) -> None:
        """Label summary: "for up to 12 cycles"; AUGMENT: "lenalidomide or placebo for 12 cycles"."""
        assert not self.protocol.open_ended
        assert self.protocol.total_cycles == 12
        assert len(self.calendar.windows) == 12
        assert len(self.study_days("lenalidomide")) == 12 * 21
        assert max(self.study_days("lenalidomide")) == 11 * 28 + 21

    def test_rituximab_weekly_in_cycle_1(self) -> None:
        """AUGMENT: "rituximab once per week for 4 weeks in cycle 1" (days 1, 8, 15, 22 assumed)."""
        assert self.study_days("rituximab", cycle=1) == [1, 8, 15, 22]

    def test_rituximab_day_1_of_cycles_2_to_5_only(self) -> None:
        """AUGMENT: "and day 1 of cycles 2 through 5"; 8 infusions, none after cycle 5."""
        assert self.study_days("rituximab") == [1, 8, 15, 22, 29, 57, 85, 113]
        assert all(self.study_days("rituximab", cycle=c) == [] for c in range(6, 13))

    def test_rituximab_375_mg_m2_is_flagged_as_an_assumption(self) -> None:
        """No primary text read states the rituximab dose: 375 mg/m2 must be marked."""
        rituximab = self.protocol.phases[0].drugs[1]
        assert rituximab.drug == "rituximab" and rituximab.unit == "mg/m2" and rituximab.route == "iv"
        assert rituximab.dose is not None and rituximab.dose.is_assumption
        assert self.dose("rituximab", 1) == Decimal(375)
        assert self.dose_mg("rituximab", 113) == Decimal("712.5")  # BSA 1.90 m2

    def test_no_rules_for_unread_table_rows(self) -> None:
        assert self.protocol.dose_modification == []

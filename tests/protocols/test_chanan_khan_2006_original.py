"""chanan-khan-2006-original (group A) against the JCO 2006 abstract: 25 mg on days 1-21 of a 28-day cycle."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestChananKhan2006Original(ProtocolCase):
    protocol_id = "chanan-khan-2006-original"

    def test_flat_25_mg_from_the_first_day(self) -> None:
        """JCO abstract: "administered orally at 25 mg"; ASH 2008: group A had no escalation."""
        assert self.dose("lenalidomide", 1) == Decimal(25)
        assert {d.dose for d in self.calendar.for_drug("lenalidomide")} == {Decimal(25)}

    def test_days_1_to_21_then_7_rest_days(self) -> None:
        """JCO abstract: "on days 1 through 21 of a 28-day cycle"."""
        assert self.study_days("lenalidomide", cycle=1) == list(range(1, 22))
        assert all(self.dose("lenalidomide", d) is None for d in range(22, 29))
        assert self.study_days("lenalidomide", cycle=12) == list(range(309, 330))

    def test_no_flare_prophylaxis(self) -> None:
        """ASH 2008: group A was treated "without any prophylaxis for tumor flare reaction"."""
        assert self.calendar.drugs == ("lenalidomide",)

    def test_runs_until_progression(self) -> None:
        """JCO abstract: "until disease progression, unacceptable toxicity, or complete remission"."""
        assert self.protocol.open_ended

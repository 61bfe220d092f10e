"""ferrajoli-2008 against Ferrajoli et al., Blood 2008 (abstract), the pooled ASH 2007 abstract ("study A") and the
registry record NCT00267059."""

from datetime import timedelta
from decimal import Decimal

from tests.protocols.base import ProtocolCase


class TestFerrajoli2008(ProtocolCase):
    protocol_id = "ferrajoli-2008"

    def test_10_mg_for_the_first_28_days(self) -> None:
        """ASH 2007: "10 mg daily for 28 days"."""
        assert self.dose("lenalidomide", 1) == Decimal(10)
        assert self.dose("lenalidomide", 28) == Decimal(10)

    def test_plus_5_mg_every_28_days_to_25_mg(self) -> None:
        """ASH 2007: "followed by 5 mg increments every 28 days to a maximum dose of 25 mg"."""
        expected = {29: 15, 56: 15, 57: 20, 84: 20, 85: 25, 336: 25}
        assert {d: self.dose("lenalidomide", d) for d in expected} == {d: Decimal(x) for d, x in expected.items()}
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(25)

    def test_28_day_cycles(self) -> None:
        """NCT00267059: "every morning ... for 28 days. This is considered 1 cycle"."""
        assert all(w.end - w.start == timedelta(days=27) for w in self.calendar.windows)
        assert self.study_days("lenalidomide", cycle=2)[0] == 29

    def test_continuous_without_rest_days(self) -> None:
        """Blood 2008 abstract: "lenalidomide given as a continuous treatment"."""
        assert self.study_days("lenalidomide") == list(range(1, 12 * 28 + 1))
        assert all(not w.rest_days for w in self.calendar.windows)

    def test_runs_until_progression(self) -> None:
        """Review: "Treatment was discontinued if disease progression or excessive toxicity was observed"."""
        assert self.protocol.open_ended

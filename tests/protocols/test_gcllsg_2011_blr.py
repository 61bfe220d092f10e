"""gcllsg-2011-blr against the review's paragraph on the German CLL Study Group BRL trial [28]."""

from decimal import Decimal

from tests.protocols.base import ProtocolCase

LEAD_IN = 7
INDUCTION_END = LEAD_IN + 6 * 28


class TestGcllsg2011Blr(ProtocolCase):
    protocol_id = "gcllsg-2011-blr"
    cycles = 13  # the 7-day lead-in, 6 BRL cycles, 6 lenalidomide cycles

    def test_seven_day_lenalidomide_lead_in_before_cycle_1(self) -> None:
        """Review: 'Lenalidomide was given orally for 7 days followed by rituximab ... on day 1'."""
        assert self.study_days("lenalidomide", phase="lead-in") == list(range(1, 8))
        assert self.dose("rituximab", 7) is None and self.dose("bendamustine", 7) is None
        assert self.calendar.windows[1].phase == "induction" and self.calendar.windows[1].cycle == 1
        assert (self.calendar.windows[1].start - self.calendar.windows[0].start).days == LEAD_IN

    def test_rituximab_375_day_1_and_bendamustine_90_days_1_and_2(self) -> None:
        """Review: 'rituximab 375 mg/m? on day 1 in addition to bendamustine 90 mg/m? ... on days 1 and 2'."""
        day1 = LEAD_IN + 1
        assert self.study_days("rituximab") == [day1 + 28 * k for k in range(6)]
        assert self.study_days("bendamustine", cycle=1) == [day1, day1 + 1]
        assert self.dose_mg("bendamustine", day1) == Decimal(171)
        assert self.dose_mg("rituximab", day1) == Decimal("712.5")

    def test_bendamustine_dose_records_the_gcllsg_70_mg_backbone(self) -> None:
        """The review's 90 mg/m2 is kept; the detail records the GCLLSG relapsed backbone of 70 mg/m2."""
        benda = self.protocol.phases[1].drugs[1]
        assert benda.dose is not None and benda.dose.value == Decimal(90)
        assert benda.dose.detail is not None and "70 mg/m2" in benda.dose.detail

    def test_lenalidomide_daily_without_a_break_through_both_phases(self) -> None:
        """Review: 'lenalidomide orally daily every 28 days' (days 1-28 assumed) and then monotherapy."""
        days = self.study_days("lenalidomide")
        assert days == list(range(1, LEAD_IN + 12 * 28 + 1))
        assert {d.dose for d in self.calendar.for_drug("lenalidomide")} == {Decimal("2.5")}

    def test_lenalidomide_dose_is_an_assumption(self) -> None:
        """The review gives no lenalidomide dose; every lenalidomide dose is marked as assumed."""
        for phase in self.protocol.phases:
            for regimen in phase.drugs:
                if regimen.drug == "lenalidomide":
                    assert regimen.dose is not None and regimen.dose.is_assumption

    def test_six_more_cycles_of_lenalidomide_alone(self) -> None:
        """Review: 'lenalidomide monotherapy was administered ... for an additional 6 cycles'."""
        assert self.study_days("bendamustine", phase="continuation") == []
        assert self.study_days("rituximab", phase="continuation") == []
        assert self.dose("lenalidomide", INDUCTION_END + 1) == Decimal("2.5")
        assert [w.phase for w in self.calendar.windows].count("continuation") == 6
        assert self.protocol.total_cycles == 13

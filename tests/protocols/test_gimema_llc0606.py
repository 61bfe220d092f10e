"""gimema-llc0606 against the GIMEMA FCL final paper (abstract), its ASH 2010 abstract 1377, the NCT00727415
registry outline (public copy) and the review's [25]."""

from datetime import timedelta
from decimal import Decimal

from tests.protocols.base import START, ProtocolCase


def course_day(course: int, day: int) -> int:
    """Study day of ``day`` of FC course ``course``: START is course 1 day 1 (the allopurinol lead-in is before it)."""
    return 28 * (course - 1) + day


class TestGimemaLlc0606(ProtocolCase):
    protocol_id = "gimema-llc0606"
    cycles = 6

    def test_six_28_day_courses_start_on_the_start_date(self) -> None:
        """Abstract and registry outline: "six monthly courses" (28 days assumed); START is course 1 day 1."""
        assert [(w.phase, w.length_days) for w in self.calendar.windows] == [("treatment", 28)] * 6
        assert self.calendar.windows[0].start == START
        assert self.protocol.total_cycles == 6

    def test_fc_days_1_to_3_of_each_course(self) -> None:
        """ASH 2010: "F, fudarabine: 30 mg/m2 iv and C, cyclophosphamide: 250 mg/m2, days 1–3"."""
        for drug in ("fludarabine", "cyclophosphamide"):
            assert self.study_days(drug) == [course_day(c, d) for c in range(1, 7) for d in (1, 2, 3)]
        assert self.dose_mg("fludarabine", 1) == Decimal(57)
        assert self.dose_mg("cyclophosphamide", 1) == Decimal(475)
        assert self.dose("fludarabine", 4) is None

    def test_lenalidomide_2_5_mg_days_1_to_14_of_course_1(self) -> None:
        """Abstract: "14 days of lenalidomide given at the starting dose of 2.5 mg during course 1"; registry
        outline: "14 days of Lenalidomide administration (d1-d14)"."""
        assert self.study_days("lenalidomide", cycle=1) == list(range(1, 15))
        assert self.dose("lenalidomide", 1) == Decimal("2.5")
        assert self.dose("lenalidomide", 15) is None

    def test_lenalidomide_5_mg_mtd_from_course_2(self) -> None:
        """Abstract: "The maximum tolerated dose of lenalidomide was 5 mg" (assumed as the dose of courses 2-6;
        the registry's phase II gives FC "in combination with the MTD of Lenalidomide" but no number)."""
        lena = next(r for r in self.protocol.phases[0].drugs if r.drug == "lenalidomide")
        assert lena.escalation is not None and lena.escalation.sequence is not None
        assert lena.escalation.sequence.is_assumption
        assert self.dose("lenalidomide", course_day(2, 1)) == Decimal(5)
        assert self.dose("lenalidomide", course_day(6, 14)) == Decimal(5)
        assert max(d.dose for d in self.calendar.for_drug("lenalidomide")) == Decimal(5)
        assert len(self.study_days("lenalidomide")) == 6 * 14

    def test_allopurinol_300_mg_days_minus_3_to_90(self) -> None:
        """ASH 2010: "allopurinol 300 mg/day, days -3 - 90" (there is no day 0): 3 lead-in days, then days 1-90."""
        assert self.study_days("allopurinol") == [-3, -2, -1, *range(1, 91)]
        assert self.dose_mg("allopurinol", -3) == Decimal(300)
        assert self.calendar.for_drug("allopurinol")[0].date == START - timedelta(days=3)
        assert self.dose("allopurinol", 91) is None

    def test_only_allopurinol_in_the_lead_in(self) -> None:
        """Days -3 to -1 are allopurinol only; FC and lenalidomide start on course 1 day 1 (the start date)."""
        assert {d.drug for d in self.calendar if d.cycle is None} == {"allopurinol"}
        assert all(d.date >= START for d in self.calendar if d.drug != "allopurinol")
        assert self.calendar.lead_in is not None and self.calendar.lead_in.start == START - timedelta(days=3)

    def test_enoxaparin_40_mg_on_lenalidomide_days(self) -> None:
        """ASH 2010: enoxaparin "4000 units/sc/day" (= 40 mg); duration assumed to be the lenalidomide days."""
        assert self.study_days("enoxaparin") == self.study_days("lenalidomide")
        assert self.dose_mg("enoxaparin", 1) == Decimal(40)

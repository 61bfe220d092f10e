"""label-mm-rd against the REVLIMID US label, section 2.1 and Table 1 (public mirrors), and the EU SmPC 4.2."""

from decimal import Decimal

from lenasched import Calendar
from tests.protocols.base import ProtocolCase


class TestLabelMmRd(ProtocolCase):
    protocol_id = "label-mm-rd"
    cycles = 3

    @staticmethod
    def lena(calendar: Calendar, study_day: int) -> Decimal | None:
        found = [d.dose for d in calendar.for_drug("lenalidomide") if d.study_day == study_day]
        return found[0] if found else None

    # schedule --------------------------------------------------------------------------------
    def test_first_dose_is_the_quoted_starting_dose(self) -> None:
        """US label: "The recommended starting dose of REVLIMID is 25 mg orally once daily"."""
        regimen = self.protocol.phases[0].drugs[0]
        assert regimen.dose is not None and regimen.dose.value == Decimal(25)
        assert "25 mg" in (regimen.dose.detail or "")
        assert self.calendar.for_drug("lenalidomide")[0].dose == regimen.dose.value
        assert self.calendar.for_drug("lenalidomide")[0].study_day == 1

    def test_lenalidomide_days_1_to_21_of_28(self) -> None:
        """US label: "on Days 1-21 of repeated 28-day cycles"."""
        assert [self.dose("lenalidomide", d) for d in (1, 21, 22, 28, 29)] == [
            Decimal(25),
            Decimal(25),
            None,
            None,
            Decimal(25),
        ]
        assert self.study_days("lenalidomide", cycle=2) == list(range(29, 50))

    def test_dexamethasone_40_mg_days_1_8_15_22(self) -> None:
        """EU SmPC 4.2: "40 mg orally once daily on days 1, 8, 15 and 22 of repeated 28-day cycles"."""
        assert self.study_days("dexamethasone", cycle=1) == [1, 8, 15, 22]
        assert self.study_days("dexamethasone", cycle=2) == [29, 36, 43, 50]
        assert self.dose("dexamethasone", 22) == Decimal(40)
        assert self.dose("dexamethasone", 2) is None

    def test_runs_until_progression(self) -> None:
        assert self.protocol.open_ended
        assert len(self.calendar.windows) == 3

    # Table 1 rules -----------------------------------------------------------------------------
    def test_platelets_below_30_hold_from_that_date(self) -> None:
        """Table 1: "Fall to <30,000/mcL Interrupt REVLIMID treatment, follow CBC weekly"."""
        calendar = self.with_labs((11, "plt=25"))
        assert self.lena(calendar, 10) == Decimal(25)
        assert [self.lena(calendar, d) for d in (11, 15, 21, 29, 40)] == [None] * 5

    def test_platelets_back_to_30_resume_one_level_lower(self) -> None:
        """Table 1: "Return to at least 30,000/mcL | Resume REVLIMID at next lower dose"."""
        calendar = self.with_labs((11, "plt=25"), (18, "plt=42"))
        assert [self.lena(calendar, d) for d in (17, 18, 21, 29)] == [None, Decimal(20), Decimal(20), Decimal(20)]

    def test_each_subsequent_platelet_drop_one_more_level_lower(self) -> None:
        """Table 1: "For each subsequent drop <30,000/mcL" ... "Resume REVLIMID at next lower dose"."""
        calendar = self.with_labs((11, "plt=25"), (18, "plt=42"), (32, "plt=20"), (39, "plt=50"))
        assert [self.lena(calendar, d) for d in (31, 32, 38, 39, 57)] == [
            Decimal(20),
            None,
            None,
            Decimal(15),
            Decimal(15),
        ]

    def test_first_neutropenia_resumes_at_the_starting_dose(self) -> None:
        """Table 1: "neutropenia is the only toxicity | Resume REVLIMID at 25 mg daily or initial starting dose"."""
        calendar = self.with_labs((11, "anc=0.8"), (18, "anc=1.4"))
        assert [self.lena(calendar, d) for d in (10, 11, 17, 18, 29)] == [
            Decimal(25),
            None,
            None,
            Decimal(25),
            Decimal(25),
        ]

    def test_subsequent_neutropenia_resumes_one_level_lower(self) -> None:
        """Table 1: "For each subsequent drop <1,000/mcL" ... "Resume REVLIMID at next lower dose"."""
        calendar = self.with_labs((11, "anc=0.8"), (18, "anc=1.4"), (32, "anc=0.7"), (39, "anc=1.2"))
        assert [self.lena(calendar, d) for d in (32, 39, 57)] == [None, Decimal(20), Decimal(20)]

    def test_grade_3_toxicity_holds_and_grade_2_resumes_one_level_lower(self) -> None:
        """Early label: "hold treatment and restart at next lower dose level when toxicity has resolved to <= Grade 2"
        (read as: grade 3 holds, grade 2 resumes one level lower)."""
        calendar = self.with_labs((11, "grade.rash=3"), (18, "grade.rash=2"))
        assert [self.lena(calendar, d) for d in (10, 11, 17, 18)] == [Decimal(25), None, None, Decimal(20)]

    def test_grade_2_toxicity_does_not_hold(self) -> None:
        calendar = self.with_labs((11, "grade.rash=2"))
        assert self.lena(calendar, 11) == Decimal(25)

    def test_a_lenalidomide_rule_never_holds_dexamethasone(self) -> None:
        """The rules modify lenalidomide only (the label's table is for REVLIMID)."""
        calendar = self.with_labs((11, "plt=25"), (32, "anc=0.5"))
        dex = [d.study_day for d in calendar.for_drug("dexamethasone")]
        assert dex == [1, 8, 15, 22, 29, 36, 43, 50, 57, 64, 71, 78]
        assert self.lena(calendar, 15) is None

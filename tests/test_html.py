"""The printable HTML calendar: its text (golden file), its markings, and what it refuses.

Golden file: tests/golden/calendar-html.txt is the page's visible text, one block per line.
Regenerate with ``UPDATE_GOLDEN=1 pytest tests/test_html.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

import lenasched
from lenasched import Calendar, LenaschedError, Patient, expand, parse_protocol
from lenasched.cli.main import main
from lenasched.formats.describe import DISCLAIMER
from lenasched.formats.html import calendar_page, default_paper, full_citation, to_html

from .goldens import check_golden, day_texts, html_text

# Two phases, a month boundary, an escalation (new dose), rest days, an infusion dosed in mg/m²
# (clinic day) and a prophylaxis drug: every marking of the printed calendar in six weeks.
PROTOCOL_YAML = """\
schema_version: 1
id: print-test-2026
title: Printing test regimen (lenalidomide 2.5 then 5 mg, rituximab, aspirin)
setting: test only
citation:
  authors: [Rossi A, Bianchi B, Verdi C, Neri D]
  title: A regimen made up to test the printed calendar
  journal: Test Journal
  year: 2026
  volume: "1(1)"
  pages: 1-9
  pmid: "10000001"
phases:
  - name: induction
    cycle_length_days: 14
    cycles: 2
    drugs:
      - drug: lenalidomide
        escalation:
          sequence: [2.5, 5]
          every_days: 7
          first_step_day: 15
        days: 1-7
      - drug: rituximab
        route: iv
        unit: mg/m2
        dose: 375
        days: 1
        cycles: 1
      - drug: aspirin
        role: prophylaxis
        dose: 100
        days: 1-7
  - name: maintenance
    cycle_length_days: {value: 14, assumption: "test value, stated to show an assumption"}
    cycles: 1
    drugs:
      - drug: lenalidomide
        dose: 5
        days: 1-7
"""
START = date(2026, 1, 26)


def make_calendar() -> Calendar:
    return expand(parse_protocol(PROTOCOL_YAML), START, patient=Patient(bsa_m2=Decimal("1.80")))


@dataclass(frozen=True)
class Check:
    """A dated check as ``lenasched.pharmacy.rems.PregnancyTest`` gives it (date, allowed window, title)."""

    date: dt.date
    earliest: dt.date
    latest: dt.date
    title: str


def test_golden_text() -> None:
    check_golden("calendar-html.txt", html_text(to_html(make_calendar())))


def test_same_input_same_bytes() -> None:
    assert to_html(make_calendar()) == to_html(make_calendar())


def test_days_say_what_to_take_in_words() -> None:
    days = day_texts(to_html(make_calendar()))
    first = days["2026-01-26"]
    assert first.startswith("26 INDUCTION CYCLE 1 · DAY 1") or first.startswith("26 induction cycle 1 · day 1")
    assert first.endswith("Lenalidomide: one 2.5 mg capsule Rituximab: 675 mg at the clinic Aspirin: 100 mg")
    assert days["2026-02-03"] == "3 induction cycle 1 · day 9 Rest day"
    assert "New dose" in days["2026-02-09"] and "one 5 mg capsule" in days["2026-02-09"]
    assert "New dose" not in days["2026-02-10"]
    assert days["2026-01-25"] == "25 before start"
    assert days["2026-03-09"] == "9 after end"


def test_markings_are_classes_and_words_not_colour() -> None:
    html = to_html(make_calendar())
    assert re.search(r'<td class="day rest" data-date="2026-02-03"', html)
    assert re.search(r'<li class="take proph"><span class="box"></span> <span class="what"><b>Aspirin:</b>', html)
    assert re.search(r'<td class="day dose clinic cycle-start" data-date="2026-01-26"', html)
    # greyscale: the CSS uses only greys (equal R, G and B) and black
    colours = set(re.findall(r"#[0-9a-fA-F]{3,6}\b", html))
    assert colours and all(len(set(c[1:])) == 1 or (len(c) == 7 and c[1:3] == c[3:5] == c[5:7]) for c in colours)


def test_one_month_per_printed_page_and_blanks() -> None:
    html = to_html(make_calendar())
    assert "@page" in html and "break-before: page" in html
    assert html.count('<section class="month"') == 3  # January, February, March
    text = html_text(html)
    for words in ("Patient name:", "Date of birth:", DISCLAIMER, "Rossi A, Bianchi B, Verdi C, et al."):
        assert words in text


def test_self_contained() -> None:
    html = to_html(make_calendar())
    for forbidden in ("<script", "<link", "src=", "url(", "@import", "http://", "https://"):
        assert forbidden not in html


def test_protocol_text_is_escaped() -> None:
    hostile = PROTOCOL_YAML.replace("title: Printing test regimen", "title: <script>alert(1)</script> & regimen")
    html = to_html(expand(parse_protocol(hostile), START, patient=Patient(bsa_m2=Decimal("1.80"))))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; regimen" in html


def test_checks_and_remarks_are_shown() -> None:
    cal = make_calendar()
    before = Check(date(2026, 1, 14), date(2026, 1, 12), date(2026, 1, 16), "Pregnancy test 1 of 2 before starting")
    weekly = Check(date(2026, 2, 2), date(2026, 2, 2), date(2026, 2, 2), "Pregnancy test (week 2)")
    html = to_html(cal, checks=[weekly, before], remarks=["Renal dose adjustment applied: test."])
    days = day_texts(html)
    assert "Test Pregnancy test 1 of 2 before starting (any day from 12 Jan 2026 to 16 Jan 2026)" in days["2026-01-14"]
    assert days["2026-01-14"].startswith("14 before start")
    assert "Pregnancy test (week 2)" in days["2026-02-02"]
    text = html_text(html)
    assert "Renal dose adjustment applied: test." in text and "Tests" in text
    assert html.count('<section class="month"') == 3  # January already shown; no new month needed


def test_check_in_an_earlier_month_adds_that_month() -> None:
    early = Check(date(2025, 12, 30), date(2025, 12, 30), date(2025, 12, 30), "Pregnancy test")
    page = calendar_page(make_calendar(), checks=[early])
    assert [m.title for m in page.months] == ["December 2025", "January 2026", "February 2026", "March 2026"]


def test_a_dose_no_single_capsule_makes_is_refused_unless_allowed() -> None:
    yaml_text = PROTOCOL_YAML.replace("sequence: [2.5, 5]", "sequence: [2.5, 7.5]")
    cal = expand(parse_protocol(yaml_text), START, patient=Patient(bsa_m2=Decimal("1.80")))
    with pytest.raises(LenaschedError, match=r"7\.5"):
        to_html(cal)
    html = to_html(cal, allow_multiple=True)
    assert day_texts(html)["2026-02-09"].startswith(
        "9 induction cycle 2 · day 1 Lenalidomide: one 5 mg capsule and one 2.5 mg capsule (7.5 mg) New dose 2 capsules"
    )
    assert "Several capsules make this dose" in html_text(html)


def test_full_citation_handles_et_al_in_the_author_list() -> None:
    ref = lenasched.Reference(authors=["Badoux XC", "Keating MJ", "et al."], title="T.", journal="Blood", year=2011)
    assert full_citation(ref) == "Badoux XC, Keating MJ, et al. T. Blood 2011."


def test_template_ships_inside_the_package() -> None:
    assert (files("lenasched") / "templates" / "calendar.html.j2").is_file()


def test_cli_html_to_stdout_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "print-test-2026.yaml"
    source.write_text(PROTOCOL_YAML)
    argv = ["calendar", str(source), "--start", "2026-01-26", "--bsa", "1.80", "--format", "html"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and out == to_html(make_calendar(), paper=default_paper())
    target = tmp_path / "cal.html"
    assert main([*argv, "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == out


def test_cli_refuses_reminder_outside_ics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "p.yaml"
    source.write_text(PROTOCOL_YAML)
    code = main(["calendar", str(source), "--start", "2026-01-26", "--bsa", "1.8", "--format", "html", "--tz", "UTC"])
    assert code == 1 and "--format ics only" in capsys.readouterr().err


def test_a_period_with_nothing_given_prints_rest_days() -> None:
    late = PROTOCOL_YAML.replace("days: 1-7", "days: 5-7").replace("days: 1\n", "days: 5\n")
    cal = expand(
        parse_protocol(late), START, until=START + dt.timedelta(days=2), patient=Patient(bsa_m2=Decimal("1.8"))
    )
    days = day_texts(to_html(cal))
    assert days["2026-01-27"] == "27 induction cycle 1 · day 2 Rest day"
    assert "none in this period" in html_text(to_html(cal))


# --- Issue 13: paper sizes, held and delayed days, lenalidomide first, plain words, fitting the page ---


def test_paper_size_is_in_the_page_rule_and_refused_when_unknown() -> None:
    assert "@page { size: A4 landscape;" in to_html(make_calendar())
    assert "@page { size: letter landscape;" in to_html(make_calendar(), paper="letter")
    with pytest.raises(LenaschedError, match="unknown paper 'a5'; known: a4, letter"):
        to_html(make_calendar(), paper="a5")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("environ", "paper"),
    [
        ({}, "a4"),
        ({"LANG": "en_US.UTF-8"}, "letter"),
        ({"LANG": "it_IT.UTF-8"}, "a4"),
        ({"LANG": "en_US.UTF-8", "LC_PAPER": "de_DE.UTF-8"}, "a4"),
        ({"LC_ALL": "es_MX.UTF-8", "LANG": "en_GB.UTF-8"}, "letter"),
        ({"LANG": "C.UTF-8"}, "a4"),
    ],
)
def test_default_paper_follows_the_locale(environ: dict[str, str], paper: str) -> None:
    assert default_paper(environ) == paper


def test_cli_paper_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "p.yaml"
    source.write_text(PROTOCOL_YAML)
    argv = ["calendar", str(source), "--start", "2026-01-26", "--bsa", "1.8"]
    assert main([*argv, "--format", "html", "--paper", "letter"]) == 0
    assert "size: letter landscape" in capsys.readouterr().out
    assert main([*argv, "--paper", "letter"]) == 1
    assert "--paper applies to --format html and pdf only" in capsys.readouterr().err


def held_calendar() -> Calendar:
    events = lenasched.PatientEvents.model_validate(
        {
            "events": [
                {"hold": "2026-01-28", "reason": "neutropenia", "grade": 3},
                {"resume": "2026-02-10", "level": "same"},
                {"delay": {"cycle": 3, "days": 3, "reason": "platelets 40"}},
            ]
        }
    )
    return expand(parse_protocol(PROTOCOL_YAML), START, patient=Patient(bsa_m2=Decimal("1.80")), events=events)


def test_held_days_say_held_with_the_reason_and_delays_are_marked() -> None:
    html = to_html(held_calendar())
    days = day_texts(html)
    # planned lenalidomide days 3-7 of cycle 1 are held; aspirin continues; lenalidomide is still first
    assert days["2026-01-28"] == (
        "28 induction cycle 1 · day 3 Lenalidomide: held (neutropenia, grade 3) Aspirin: 100 mg"
    )
    assert re.search(r'<td class="day dose" data-date="2026-01-28"', html)
    # held on the first day of cycle 2 too (resumed the day after): a held-only day is its own kind
    assert days["2026-02-09"].startswith("9 induction cycle 2 · day 1 Lenalidomide: held (neutropenia, grade 3)")
    assert days["2026-02-03"] == "3 induction cycle 1 · day 9 Rest day"  # a planned rest day is not "held"
    assert days["2026-02-23"] == "23 cycle delayed Delayed: maintenance cycle 1 starts 26 Feb 2026 (platelets 40)"
    assert re.search(r'<td class="day delayed" data-date="2026-02-23"', html)
    text = html_text(html)
    assert "Held (cross-hatched)" in text and "Delayed (dotted)" in text


def test_a_held_only_day_is_marked_held_not_rest() -> None:
    aspirin = "      - drug: aspirin\n        role: prophylaxis\n        dose: 100\n        days: 1-7\n"
    only = PROTOCOL_YAML.replace(aspirin, "")
    events = lenasched.PatientEvents.model_validate({"events": [{"hold": "2026-01-28", "reason": "rash"}]})
    cal = expand(parse_protocol(only), START, patient=Patient(bsa_m2=Decimal("1.80")), events=events)
    html = to_html(cal)
    assert re.search(r'<td class="day held" data-date="2026-01-28"', html)
    assert day_texts(html)["2026-01-28"] == "28 induction cycle 1 · day 3 Lenalidomide: held (rash)"
    assert "Rest day" not in day_texts(html)["2026-01-28"]


def test_lenalidomide_rest_days_inside_a_cycle_are_said_when_a_companion_is_given() -> None:
    aspirin = "        role: prophylaxis\n        dose: 100\n        days: 1-"
    daily_aspirin = PROTOCOL_YAML.replace(aspirin + "7", aspirin + "14")
    cal = expand(parse_protocol(daily_aspirin), START, patient=Patient(bsa_m2=Decimal("1.80")))
    days = day_texts(to_html(cal))
    assert days["2026-02-03"] == "3 induction cycle 1 · day 9 Lenalidomide: none today Aspirin: 100 mg"


def test_lenalidomide_is_first_and_named_in_every_multi_drug_cell() -> None:
    reordered = PROTOCOL_YAML.replace(
        "    drugs:\n      - drug: lenalidomide\n        escalation:",
        "    drugs:\n      - drug: aspirin\n        role: prophylaxis\n        dose: 81\n        days: 8-9\n"
        "      - drug: lenalidomide\n        escalation:",
        1,
    )
    cal = expand(parse_protocol(reordered), START, patient=Patient(bsa_m2=Decimal("1.80")))
    page = calendar_page(cal)
    assert page.drugs[0] == "Lenalidomide"
    for month in page.months:
        for cell in (c for week in month.weeks for c in week):
            if len(cell.items) > 1:
                assert cell.items[0].drug == "lenalidomide" and cell.items[0].name == "Lenalidomide"


@pytest.mark.parametrize("pid", lenasched.bundled_ids())
def test_assumptions_are_plain_words_not_field_paths(pid: str) -> None:
    protocol = lenasched.get_protocol(pid)
    cal = expand(protocol, date(2026, 12, 1), cycles=2, patient=Patient(bsa_m2=Decimal("1.9")))
    page = calendar_page(cal)
    assert len(page.assumptions) == len(protocol.assumptions())
    for line in page.assumptions:
        assert not re.search(r"\b(phases|drugs|lead_in|dose_modification)\.\d", line), line
        assert "_" not in line.split(":", 1)[0], line


def test_off_label_sentence_once_near_the_top_for_cll_only() -> None:
    from lenasched.formats.describe import off_label_note

    cll = lenasched.get_protocol("badoux-2011")
    note = off_label_note(cll)
    assert note is not None
    html = to_html(expand(cll, date(2026, 12, 1), cycles=2))
    text = html_text(html)
    assert text.count(note) == 1
    assert text.index(note) < text.index("Patient name:")  # with the title, before anything else
    mm = lenasched.get_protocol("label-mm-rd")
    assert "Off-label" not in to_html(expand(mm, date(2026, 12, 1), cycles=2))


def test_remarks_sit_with_the_doses_before_the_disclaimer() -> None:
    text = html_text(to_html(make_calendar(), remarks=["Renal dose check: test."]))
    cover = text[: text.index(DISCLAIMER)]
    assert cover.index("in total") < cover.index("Renal dose check: test.") < cover.index("How to read")


MANY_DRUGS = (
    """\
schema_version: 1
id: crowded-2026
title: A crowded test regimen
setting: test only
citation: {title: made up}
phases:
  - name: treatment
    cycle_length_days: 28
    cycles: 1
    drugs:
      - {drug: lenalidomide, dose: 10, days: 1-21}
"""
    + "".join(
        f"      - {{drug: {name}, route: iv, unit: mg/m2, dose: 100, days: 1-3}}\n"
        for name in ("fludarabine", "cyclophosphamide", "rituximab", "pentostatin", "bendamustine", "obinutuzumab")
    )
    + "".join(
        f"      - {{drug: {name}, role: prophylaxis, dose: 300, days: 1-28}}\n" for name in ("allopurinol", "aciclovir")
    )
)


def test_a_crowded_day_continues_under_the_grid_instead_of_spilling() -> None:
    cal = expand(parse_protocol(MANY_DRUGS), date(2026, 12, 1), patient=Patient(bsa_m2=Decimal("1.9")))
    page = calendar_page(cal)
    december = page.months[0]
    assert december.density == "tight" and december.continued
    first = next(c for week in december.weeks for c in week if c.iso == "2026-12-01")
    assert first.more > 0 and first.items[0].drug == "lenalidomide"
    shown = len(first.items) + first.more
    assert shown == 9  # nothing is lost: kept in the cell plus continued below
    moved = [what for when, what in december.continued if when == "1 Dec 2026"]
    assert len(moved) == first.more
    text = html_text(to_html(cal))
    assert f"+{first.more} more, see below the calendar" in text and "Continued from the days above:" in text


def test_terminal_calendar_says_off_label_once_next_to_the_disclaimer(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "1", "-o", "-"]
    assert main(base) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("Off-label: lenalidomide is not approved for CLL") == 1
    assert out.index("Off-label:") < out.index(" ".join(DISCLAIMER.split()))
    assert main(["calendar", "label-mm-rd", "--start", "2026-12-01", "--cycles", "1", "-o", "-"]) == 0
    assert "Off-label" not in capsys.readouterr().out

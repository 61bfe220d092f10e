"""Monte Carlo of dose delivery: exact limits (p = 0, p = 1), hand-traced holds, seeds, closed forms."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import lenasched
from lenasched.cli.main import main
from lenasched.design.simulation import UNITS_PER_MG, reported_event_rate, simulate
from lenasched.errors import MissingDependencyError, SimulationError
from tests.protocol_texts import BADOUX_LIKE

needs_numpy = pytest.mark.skipif(importlib.util.find_spec("numpy") is None, reason="numpy (lenasched[sim]) missing")


# 25 mg days 1-21 of 28 with allopurinol in cycle 1, 6 cycles.
ON_OFF = """
schema_version: 1
id: on-off
title: 25 mg days 1-21 of 28
setting: test
citation: {title: test protocol}
phases:
  - name: treatment
    cycle_length_days: 28
    cycles: 6
    drugs:
      - drug: lenalidomide
        dose: 25
        days: 1-21
        dose_levels: [25, 20, 15, 10, 5]
      - drug: allopurinol
        dose: 300
        days: 1-14
        cycles: 1
"""

# 10 mg every day, no lower dose level: the first event stops the drug.
FIXED = """
schema_version: 1
id: fixed
title: 10 mg daily
setting: test
citation: {title: test protocol}
phases:
  - name: treatment
    cycle_length_days: 28
    until_progression: true
    drugs:
      - drug: lenalidomide
        dose: 10
        days: 1-28
outcomes:
  neutropenia_g34_pct: 40
  thrombocytopenia_g34_pct: "34 (of cycles)"
  anemia_g34_pct: "<1"
  tfr_pct: "49 (18 of 37)"
"""

START = date(2001, 1, 1)


@pytest.fixture(scope="module")
def badoux() -> lenasched.Protocol:
    return lenasched.parse_protocol(BADOUX_LIKE)


@pytest.fixture(scope="module")
def fixed() -> lenasched.Protocol:
    return lenasched.parse_protocol(FIXED)


def planned_units(protocol: lenasched.Protocol, days: int) -> list[int]:
    calendar = lenasched.expand(protocol, START, until=START + timedelta(days=days - 1))
    daily = [0] * days
    for d in calendar.for_drug("lenalidomide"):
        daily[d.study_day - 1] = int(d.dose_mg * UNITS_PER_MG)
    return daily


# --- exact limits -------------------------------------------------------------------------------


@needs_numpy
@pytest.mark.parametrize("text", [BADOUX_LIKE, ON_OFF])
def test_probability_zero_is_the_planned_calendar(text: str) -> None:
    protocol = lenasched.parse_protocol(text)
    result = simulate(protocol, patients=25, seed=3, horizon=200, event_prob=0, keep_daily=True)
    plan = planned_units(protocol, 200)
    assert result.daily_units is not None
    assert all(list(row) == plan for row in result.daily_units)
    total = sum(
        d.dose_mg for d in lenasched.expand(protocol, START, until=START + timedelta(days=199)).for_drug("lenalidomide")
    )
    assert result.planned_total_mg == total
    assert set(result.cumulative_mg.tolist()) == {float(total)}
    assert result.events.sum() == 0 and not result.stopped.any()
    for cycle in result.cycles:
        assert cycle.median_mg == cycle.planned_mg
        assert cycle.fraction_event == cycle.fraction_held == cycle.fraction_stopped == 0


@needs_numpy
def test_probability_zero_cap_by_cycle(badoux: lenasched.Protocol) -> None:
    result = simulate(badoux, patients=10, horizon="24w", event_prob=0)
    # 25 mg is first given on day 141, the first day of cycle 6
    assert [c.fraction_at_cap for c in result.cycles] == [0, 0, 0, 0, 0, 1]
    assert [c.fraction_reached_cap for c in result.cycles] == [0, 0, 0, 0, 0, 1]
    assert [c.planned_mg for c in result.cycles] == [140, 140, 280, 420, 560, 700]
    summary = result.summary()
    assert summary["cumulative_mg_median"] == summary["cumulative_mg_q1"] == summary["cumulative_mg_q3"] == 2240
    assert summary["dose_intensity_median"] == result.planned_intensity == Decimal("93.33")


@needs_numpy
def test_probability_one_holds_everyone_in_cycle_1(badoux: lenasched.Protocol) -> None:
    result = simulate(badoux, patients=500, seed=1, horizon=84, event_prob=1, recovery_days=14)
    first = result.cycles[0]
    assert first.fraction_event == 1 and first.fraction_held == 1
    # Day 1: 5 mg, event; held days 2-15; day 16: one level lower (2.5 mg), event at the lowest level; held
    # days 17-30; on day 31 (cycle 2) it would resume one level lower: there is none, so it stops (as in expand).
    assert set(result.cumulative_mg.tolist()) == {7.5}
    assert result.stopped.all() and set(result.events.tolist()) == {2}
    assert first.fraction_stopped == 0 and result.cycles[1].fraction_stopped == 1


# --- hand-traced holds and reductions -------------------------------------------------------------


@needs_numpy
def test_hold_then_one_level_lower_without_re_escalation(badoux: lenasched.Protocol) -> None:
    result = simulate(badoux, patients=50, horizon=84, event_prob=[1, 0], recovery_days=30, keep_daily=True)
    # Day 1: 5 mg and an event; held days 2-31; from day 32 2.5 mg, even after the planned step to 10 mg on day 57.
    assert set(result.cumulative_mg.tolist()) == {5 + 2.5 * (84 - 31)}
    row = result.daily_units[0].tolist()  # type: ignore[index]
    assert row[0] == 5 * UNITS_PER_MG and set(row[1:31]) == {0} and set(row[31:]) == {25_000}
    assert [c.fraction_held for c in result.cycles] == [1, 1, 0]
    assert not result.stopped.any()


@needs_numpy
def test_two_levels_then_stop(fixed: lenasched.Protocol) -> None:
    result = simulate(
        fixed, patients=20, horizon=28, event_prob=1, recovery_days=0, dose_levels=[Decimal(10), Decimal(5)]
    )
    assert set(result.cumulative_mg.tolist()) == {15.0}  # 10 mg, event; 5 mg next day, event: stop
    assert result.stopped.all()


@needs_numpy
def test_no_lower_level_stops_at_the_first_event(fixed: lenasched.Protocol) -> None:
    result = simulate(fixed, patients=20, horizon=28, event_prob=1)
    assert result.ladder == (10,)
    assert set(result.cumulative_mg.tolist()) == {10.0} and result.stopped.all()


# --- seeds --------------------------------------------------------------------------------------


@needs_numpy
def test_same_seed_same_result(badoux: lenasched.Protocol) -> None:
    a = simulate(badoux, patients=2000, seed=42, event_prob=0.25)
    b = simulate(badoux, patients=2000, seed=42, event_prob=0.25)
    c = simulate(badoux, patients=2000, seed=43, event_prob=0.25)
    assert (a.cumulative_mg == b.cumulative_mg).all() and (a.events == b.events).all()
    assert a.cycles == b.cycles and a.summary() == b.summary()
    assert not (a.cumulative_mg == c.cumulative_mg).all()


# --- closed forms -------------------------------------------------------------------------------


@needs_numpy
def test_converges_to_closed_form(fixed: lenasched.Protocol) -> None:
    p, n, days, dose = 0.2, 40_000, 168, 10
    result = simulate(fixed, patients=n, seed=7, horizon=days, event_prob=p)
    h = 1 - (1 - p) ** (1 / 28)  # daily hazard over 28 dosing days
    for k, cycle in enumerate(result.cycles, start=1):
        had = (1 - p) ** (k - 1) * p  # an event in cycle k = still on at its start, then an event
        assert abs(cycle.fraction_event - had) < 4 * math.sqrt(had * (1 - had) / n)
    # The dose of day t is taken if no event on days 1..t-1: E[cumulative] = D * sum (1-h)^(t-1).
    mean = dose * (1 - (1 - h) ** days) / h
    se = float(result.cumulative_mg.std()) / math.sqrt(n)
    assert abs(float(result.cumulative_mg.mean()) - mean) < 4 * se
    # One level only: every event stops the drug (when it would resume, as in expand).
    assert abs(result.fraction_with_event - (1 - (1 - p) ** 6)) < 0.01
    assert result.fraction_stopped <= result.fraction_with_event


# --- event rates from the protocol ---------------------------------------------------------------


def test_reported_rates(fixed: lenasched.Protocol) -> None:
    rate = reported_event_rate(fixed, ["neutropenia_g34_pct"], over_cycles=6)
    assert rate.per_cycle == pytest.approx((1 - 0.6 ** (1 / 6),))
    assert "40% of patients" in rate.sources[0]
    assert reported_event_rate(fixed, ["thrombocytopenia_g34_pct"]).per_cycle == pytest.approx((0.34,))
    assert reported_event_rate(fixed, ["tfr_pct"], over_cycles=1).per_cycle == pytest.approx((0.49,))
    both = reported_event_rate(fixed)
    p1, p2 = 1 - 0.6 ** (1 / 6), 0.34
    assert both.per_cycle == pytest.approx((1 - (1 - p1) * (1 - p2),))
    assert any("independent" in s for s in both.sources)
    mixed = reported_event_rate(fixed, ["anemia_g34_pct", "thrombocytopenia_g34_pct"])
    assert mixed.per_cycle == pytest.approx((0.34,)) and any("'<1' is not a number" in s for s in mixed.sources)


def test_reported_rate_refusals(fixed: lenasched.Protocol, badoux: lenasched.Protocol) -> None:
    with pytest.raises(SimulationError, match=r"reports no usable rate .* give the per-cycle probability"):
        reported_event_rate(badoux)
    with pytest.raises(SimulationError, match="'<1' is not a number"):
        reported_event_rate(fixed, ["anemia_g34_pct"])
    with pytest.raises(SimulationError, match="not a reported rate"):
        reported_event_rate(fixed, ["os"])
    with pytest.raises(SimulationError, match="over_cycles"):
        reported_event_rate(fixed, over_cycles=0)


@needs_numpy
def test_default_rate_comes_from_the_protocol(fixed: lenasched.Protocol) -> None:
    result = simulate(fixed, patients=10, horizon=28)
    assert result.rate.per_cycle == pytest.approx(reported_event_rate(fixed).per_cycle)
    assert [p.name for p in result.parameters][:2] == ["rate.neutropenia_g34_pct", "rate.thrombocytopenia_g34_pct"]


# --- refusals -----------------------------------------------------------------------------------


@needs_numpy
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event_prob": 1.5}, "between 0 and 1"),
        ({"event_prob": [0.1, -0.1]}, "between 0 and 1"),
        ({"event_prob": []}, "at least one event probability"),
        ({"event_prob": 0.1, "patients": 0}, "patients must be between"),
        ({"event_prob": 0.1, "recovery_days": -1}, "cannot be negative"),
        ({"event_prob": 0.1, "seed": -1}, "seed"),
        ({"event_prob": 0.1, "horizon": "2y"}, "not a horizon"),
        ({"event_prob": 0.1, "dose_levels": [Decimal(25), Decimal(20)]}, "planned dose 5 mg is not among"),
        ({"event_prob": 0.1, "drug": "rituximab"}, "has no rituximab"),
    ],
)
def test_refusals(badoux: lenasched.Protocol, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SimulationError, match=message):
        simulate(badoux, **kwargs)  # type: ignore[arg-type]


def test_without_numpy(badoux: lenasched.Protocol, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(MissingDependencyError) as info:
        simulate(badoux, event_prob=0.1)
    assert "pip install 'lenasched[sim]'" in str(info.value)


# --- command line -------------------------------------------------------------------------------


@pytest.fixture
def fixed_file(tmp_path: Path) -> str:
    path = tmp_path / "fixed.yaml"
    path.write_text(FIXED, encoding="utf-8")
    return str(path)


@needs_numpy
def test_cli_json_is_reproducible(fixed_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", fixed_file, "--patients", "500", "--seed", "5", "--horizon", "12w", "--format", "json"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    data = json.loads(first)
    assert data["summary"]["patients"] == 500 and data["summary"]["seed"] == 5
    assert len(data["cycles"]) == 3
    assert data["summary"]["planned_cumulative_mg"] == "840"


@needs_numpy
def test_cli_table_and_csv(fixed_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim.txt"
    assert main(["simulate", fixed_file, "--patients", "200", "--event-prob", "0.3,0.1", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "dose intensity (mg/week)" in text and "Per cycle" in text and "given: 0.3, 0.1" in text
    assert (
        main(["simulate", fixed_file, "--patients", "200", "--event", "tfr_pct", "--days", "56", "--format", "csv"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cycle,phase,") and len(lines) == 3


@needs_numpy
def test_cli_set_keeps_the_original_rates(fixed_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", fixed_file, "--patients", "100", "--set", "lenalidomide.days=1-21", "--format", "json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["protocol"] == "fixed-variant"
    assert Decimal(summary["event_probability_per_cycle"][0]) > 0


def test_cli_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "badoux-like.yaml"
    path.write_text(BADOUX_LIKE, encoding="utf-8")
    if importlib.util.find_spec("numpy") is not None:
        assert main(["simulate", str(path)]) == 1
        assert "give the per-cycle probability (--event-prob)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", str(path), "--event-prob", "2"])
    assert "must be between 0 and 1" in capsys.readouterr().err


def test_help_and_docs_state_the_assumptions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = capsys.readouterr().out
    for phrase in ("independent", "recovery-days", "one dose", "not made up", "--over-cycles"):
        assert phrase in text
    docs = (Path(__file__).resolve().parent.parent / "docs" / "simulation.md").read_text(encoding="utf-8")
    for phrase in ("Independence", "one dose level lower", "not made up", "over-cycles"):
        assert phrase in docs


# --- comparisons on common random numbers ---------------------------------------------------------


@needs_numpy
def test_cli_compare_designs(fixed_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--compare``: the original and its --set variant on the same random numbers, paired differences."""
    base = ["simulate", fixed_file, "--compare", "--set", "lenalidomide.days=1-21", "--patients", "400", "--seed", "3"]
    assert main([*base, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["common_random_numbers"] is True and data["patients"] == 400
    assert [d["protocol"] for d in data["designs"]] == ["fixed", "fixed-variant"]
    alone = simulate(lenasched.parse_protocol(FIXED), patients=400, seed=3)
    assert Decimal(data["designs"][0]["cumulative_mg_median"]) == alone.summary()["cumulative_mg_median"]
    (difference,) = data["differences"]
    assert difference["design"] == "fixed-variant" and difference["versus"] == "fixed"
    assert (
        Decimal(difference["ci_low"])
        <= Decimal(difference["cumulative_mg_difference"])
        <= Decimal(difference["ci_high"])
    )
    assert Decimal(difference["cumulative_mg_difference"]) < 0  # 21 of 28 days: less drug
    assert Decimal(data["designs"][1]["event_probability_per_cycle"][0]) > 0  # the variant keeps the trial's rates
    assert main([*base, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("design,planned_cumulative_mg,") and len(lines) == 3
    assert lines[1].startswith("fixed,") and lines[2].startswith("fixed-variant,")
    assert main([*base, "--format", "metrics-csv"]) == 0
    metrics = capsys.readouterr().out.splitlines()
    assert metrics[0].startswith("design,metric,statistic,") and any(r.startswith("fixed-variant,") for r in metrics)
    assert main(base) == 0
    table = capsys.readouterr().out
    assert "common random numbers" in table and "Paired differences from fixed" in table and "fixed-variant" in table


@needs_numpy
def test_cli_compare_refusals(fixed_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", fixed_file, "--patients", "10"]) == 0
    capsys.readouterr()
    assert main(["simulate", fixed_file, "badoux-2011", "--patients", "10"]) == 1
    assert "add --compare" in capsys.readouterr().err
    assert main(["simulate", fixed_file, "--compare", "--patients", "10"]) == 1
    assert "--compare needs two designs" in capsys.readouterr().err


# --- progress ------------------------------------------------------------------------------------


@needs_numpy
def test_no_progress_bar_without_a_terminal(fixed_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    from lenasched.cli.simulate import _ProgressBar

    with _ProgressBar() as progress:  # standard error is captured here: not a terminal
        assert progress is None
    assert main(["simulate", fixed_file, "--patients", "2000", "--event-prob", "0.01", "--format", "csv"]) == 0
    assert capsys.readouterr().err == ""  # (no note, no bar)


def test_a_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the bar appears once a run has lasted its delay, follows the counts, and goes away."""
    import io

    from lenasched.cli.simulate import _ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setattr(_ProgressBar, "DELAY", 0.0)
    bar = _ProgressBar()
    with bar as progress:
        assert progress is not None
        for done in (10, 50, 100):
            progress(done, 200)
        assert bar.bar is not None and bar.bar.tasks[0].completed == 100 and bar.bar.tasks[0].total == 200
    assert not bar.bar.live.is_started

"""Plots of a comparison: the plotted data arrays are checked, never pixels."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import lenasched
from lenasched.cli.main import main
from lenasched.design.compare import compare
from lenasched.design.plot import comparison_series, dose_series
from lenasched.errors import MissingDependencyError, OutputError

ON_OFF = """
schema_version: 1
id: on-off
title: 10 mg days 1-3 of 5-day cycles
setting: test
citation: {title: test protocol}
phases:
  - name: treatment
    cycle_length_days: 5
    cycles: 2
    drugs:
      - drug: lenalidomide
        dose: 10
        days: 1-3
"""

STEPS = """
schema_version: 1
id: steps
title: 2.5 mg escalating by 2.5 mg every 2 days to 7.5 mg, daily
setting: test
citation: {title: test protocol}
phases:
  - name: treatment
    cycle_length_days: 4
    until_progression: true
    drugs:
      - drug: lenalidomide
        days: 1-4
        escalation: {start: 2.5, step: 2.5, cap: 7.5, every_days: 2}
"""


@pytest.fixture(scope="module")
def comparison() -> lenasched.Comparison:
    return compare([lenasched.parse_protocol(ON_OFF), lenasched.parse_protocol(STEPS)], horizon=12)


def test_series_by_hand(comparison: lenasched.Comparison) -> None:
    on_off, steps = comparison_series(comparison)
    assert on_off.label == "on-off" and on_off.days == tuple(range(1, 13))
    # days 1-3 and 6-8 at 10 mg; rest days and the days after the 2 cycles end are 0
    assert on_off.daily_mg == (10, 10, 10, 0, 0, 10, 10, 10, 0, 0, 0, 0)
    assert on_off.cumulative_mg == (10, 20, 30, 30, 30, 40, 50, 60, 60, 60, 60, 60)
    assert steps.daily_mg == tuple(Decimal(x) for x in ("2.5", "2.5", "5", "5") + ("7.5",) * 8)
    assert steps.cumulative_mg[-1] == Decimal("2.5") * 2 + 5 * 2 + Decimal("7.5") * 8 == 75
    assert steps.cumulative_mg[-1] == comparison["steps"].total_mg


def test_series_of_one_calendar() -> None:
    calendar = lenasched.expand(lenasched.parse_protocol(ON_OFF), date(2026, 1, 5), cycles=1)
    series = dose_series(calendar, 5, label="mine")
    assert series.label == "mine" and series.daily_mg == (10, 10, 10, 0, 0)


def test_figure_data(comparison: lenasched.Comparison) -> None:
    pytest.importorskip("matplotlib")
    from lenasched.design.plot import plot_figure

    series = comparison_series(comparison)
    figure = plot_figure(series)
    daily_ax, total_ax = figure.axes
    assert len(daily_ax.lines) == len(total_ax.lines) == 2
    for s, daily, total in zip(series, daily_ax.lines, total_ax.lines, strict=True):
        assert list(daily.get_xdata()) == list(s.days)  # type: ignore[arg-type]
        assert list(daily.get_ydata()) == [float(x) for x in s.daily_mg]  # type: ignore[arg-type]
        assert daily.get_drawstyle() == "steps-post"
        assert list(total.get_ydata()) == [float(x) for x in s.cumulative_mg]  # type: ignore[arg-type]
        assert daily.get_label() == total.get_label() == s.label
    assert daily_ax.get_ylabel() == "daily dose (mg)"
    assert total_ax.get_ylabel() == "cumulative dose (mg)"
    assert total_ax.get_xlabel().startswith("study day")
    assert [t.get_text() for t in daily_ax.get_legend().get_texts()] == ["on-off", "steps"]  # type: ignore[union-attr]
    assert "daily dose" in figure.get_suptitle() and "cumulative" in figure.get_suptitle()


def test_legends_never_cover_data(comparison: lenasched.Comparison) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from lenasched.design.plot import plot_figure

    figure = plot_figure(comparison_series(comparison))
    FigureCanvasAgg(figure).draw()  # type: ignore[no-untyped-call]
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for ax in figure.axes:
        legend = ax.get_legend().get_window_extent(renderer)  # type: ignore[union-attr]
        area = ax.get_window_extent(renderer)
        assert legend.x0 >= area.x1  # entirely to the right of the plotting area


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_save_is_reproducible(comparison: lenasched.Comparison, tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("matplotlib")
    from lenasched.design.plot import save_plot

    a, b = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
    save_plot(comparison_series(comparison), a)
    save_plot(comparison_series(comparison), b)
    assert a.stat().st_size > 1000
    assert a.read_bytes() == b.read_bytes()


def test_unknown_file_type(comparison: lenasched.Comparison, tmp_path: Path) -> None:
    from lenasched.design.plot import save_plot

    with pytest.raises(OutputError, match=r"use a \.png, \.svg or \.pdf"):
        save_plot(comparison_series(comparison), tmp_path / "plot.gif")
    assert not (tmp_path / "plot.gif").exists()


def test_without_matplotlib(comparison: lenasched.Comparison, monkeypatch: pytest.MonkeyPatch) -> None:
    from lenasched.design.plot import plot_figure

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingDependencyError) as info:
        plot_figure(comparison_series(comparison))
    assert "pip install 'lenasched[plot]'" in str(info.value)
    assert isinstance(info.value, ImportError)


def test_cli_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    source = tmp_path / "on-off.yaml"
    source.write_text(ON_OFF, encoding="utf-8")
    out = tmp_path / "plot.svg"
    assert main(["compare", str(source), "--days", "12", "--plot", str(out), "--format", "csv"]) == 0
    assert out.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert "plot written to" in capsys.readouterr().err


def test_cli_plot_without_matplotlib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "on-off.yaml"
    source.write_text(ON_OFF, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["compare", str(source), "--plot", str(tmp_path / "p.png")]) == 1
    err = capsys.readouterr().err
    assert "plotting needs matplotlib" in err and "pip install 'lenasched[plot]'" in err
    assert not (tmp_path / "p.png").exists()

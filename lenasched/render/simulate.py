"""The terminal output of ``lenasched simulate``: the headline numbers and the per-cycle table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from lenasched.design.simulation import SimulationComparison, SimulationResult
from lenasched.formats.describe import DISCLAIMER
from lenasched.model.doses import format_dose

__all__ = ["render_comparison", "render_simulation"]


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.1f}"


def render_simulation(result: SimulationResult) -> Group:
    """Summary (median and IQR of intensity and cumulative dose, stops), sources of the rate, cycle table."""
    s = result.summary()
    head = Table(
        title=f"{result.protocol_id}: {result.patients} simulated patients, {result.horizon_days} days, "
        f"seed {result.seed}",
        title_justify="left",
        show_header=True,
    )
    for name in ("", "planned", "median", "IQR (25th-75th)"):
        head.add_column(name, justify="left" if not name else "right")
    head.add_row(
        "dose intensity (mg/week)",
        format_dose(s["planned_dose_intensity_mg_per_week"]),
        _num(s["dose_intensity_median"]),
        f"{_num(s['dose_intensity_q1'])}-{_num(s['dose_intensity_q3'])}",
    )
    head.add_row(
        f"cumulative {result.drug} (mg)",
        format_dose(s["planned_cumulative_mg"]),
        _num(s["cumulative_mg_median"]),
        f"{_num(s['cumulative_mg_q1'])}-{_num(s['cumulative_mg_q3'])}",
    )
    lines: list[Text | Table] = [
        Text(
            f"Patients with at least one dose-limiting event: {_pct(s['fraction_with_event'])}%; "
            f"stopped by day {result.horizon_days}: {_pct(s['fraction_stopped'])}%"
        ),
        Text(
            f"Dose levels: {', '.join(s['dose_levels'])} mg (cap {s['cap']} mg); model: "
            + (
                "the protocol's dose_modification rules"
                if s["model"] == "rules"
                else f"hold {result.recovery_days} days after an event, then one level lower"
            )
        ),
        Text("Event probability per cycle: " + ", ".join(str(p) for p in s["event_probability_per_cycle"])),
        Text("Parameters (value [source]):"),
    ]
    lines += [Text(f"  - {p.line()}", style="dim") for p in result.parameters]
    if not result.parameters:
        lines += [Text(f"  - {source}", style="dim") for source in result.rate.sources]
    lines += [Text(f"Note: {note}", style="bold") for note in result.notes()]
    metrics = Table(
        title="Outputs (95% Monte Carlo intervals)", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False
    )
    for name in ("output", "statistic", "estimate", "95% interval", "unit"):
        metrics.add_column(name, justify="left" if name in ("output", "statistic", "unit") else "right")
    for m in result.metrics():
        metrics.add_row(
            m.name.replace("_", " "), m.statistic, _fmt(m.estimate), f"{_fmt(m.low)}-{_fmt(m.high)}", m.unit
        )
    lines.append(metrics)
    phases = len({c.phase for c in result.cycles}) > 1
    varying = len({c.probability for c in result.cycles}) > 1
    cycles = Table(
        title="Per cycle (mg of lenalidomide; % of patients)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=0,
        show_edge=False,
    )
    columns = ["cycle", *(["phase"] if phases else []), "days", *(["p"] if varying else [])]
    columns += ["planned", "median", "mean", "event", "held", "at cap", "reached", "stopped"]
    for name in columns:
        cycles.add_column(name, justify="left" if name == "phase" else "right", no_wrap=True)
    for c in result.cycles:
        cells = [str(c.index), *([f"{c.phase} {c.cycle}"] if phases else []), f"{c.first_day}-{c.last_day}"]
        cells += [f"{c.probability:.3f}"] if varying else []
        cells += [format_dose(c.planned_mg), _num(c.median_mg), f"{c.mean_mg:.1f}"]
        cells += [
            _pct(x)
            for x in (c.fraction_event, c.fraction_held, c.fraction_at_cap, c.fraction_reached_cap, c.fraction_stopped)
        ]
        cycles.add_row(*cells)
    notes = [
        Text(
            "p: event probability; event, held, at cap: % of patients with an event, a held planned day, "
            "a day at the cap in the cycle; reached (the cap) and stopped: % by the end of the cycle.",
            style="dim",
        ),
        Text("Model and assumptions: lenasched simulate --help, docs/simulation.md.", style="dim"),
        Text(DISCLAIMER, style="italic"),
    ]
    return Group(head, *lines, cycles, *notes)


def render_comparison(comparison: SimulationComparison) -> Group:
    """Designs side by side on common random numbers, and their paired differences from the first."""
    results = comparison.results
    first = results[0]
    designs = Table(
        title=f"{len(results)} designs on common random numbers: {first.patients} simulated patients each, "
        f"{first.horizon_days} days, seed {first.seed} (cumulative {first.drug} in mg; % of patients)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
    )
    for name in ("design", "planned", "median", "IQR", "RDI %", "stopped %"):
        designs.add_column(name, justify="left" if name == "design" else "right", no_wrap=True)
    for row in comparison.to_rows():
        rdi = row["relative_dose_intensity_median"]
        designs.add_row(
            row["design"],
            format_dose(row["planned_cumulative_mg"]),
            _num(row["cumulative_mg_median"]),
            f"{_num(row['cumulative_mg_q1'])}-{_num(row['cumulative_mg_q3'])}",
            "—" if rdi is None else f"{float(rdi):.1f}",
            _pct(row["fraction_stopped"]),
        )
    differences = Table(
        title=f"Paired differences from {first.protocol_id} (mean over the same patients, 95% interval)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
    )
    for name in ("design", "cumulative mg", "stopped, % points"):
        differences.add_column(name, justify="left" if name == "design" else "right", no_wrap=True)
    for d in comparison.differences():
        differences.add_row(
            d["design"],
            f"{_signed(d['cumulative_mg_difference'])} ({_signed(d['ci_low'])} to {_signed(d['ci_high'])})",
            f"{_signed(d['fraction_stopped_difference'], 100)} "
            f"({_signed(d['stopped_ci_low'], 100)} to {_signed(d['stopped_ci_high'], 100)})",
        )
    lines: list[Text | Table] = [designs, differences]
    lines.append(
        Text(
            "Patient i draws the same random numbers in every design (common random numbers), so a difference "
            "comes from the designs, not from sampling noise. RDI: relative dose intensity (median, %).",
            style="dim",
        )
    )
    for result in results:
        rate = ", ".join(f"{p:.3f}" for p in result.rate.per_cycle)
        model = (
            "the protocol's dose_modification rules"
            if result.model and result.model.mode == "rules"
            else (f"hold {result.recovery_days} days, then one level lower")
        )
        lines.append(Text(f"{result.protocol_id}: event probability per cycle {rate}; {model}", style="dim"))
        lines += [Text(f"  Note: {note}", style="bold") for note in result.notes()]
    lines.append(Text("Each design's parameters and cycles: lenasched simulate ID (one design).", style="dim"))
    lines.append(Text(DISCLAIMER, style="italic"))
    return Group(*lines)


def _signed(value: Any, scale: float = 1) -> str:
    if value is None:
        return "—"
    number = float(value) * scale
    return f"{number:+.1f}"


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "—"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.1f}"


def _num(value: Decimal) -> str:
    return format_dose(value) if value == value.to_integral_value() else f"{value:.2f}"

"""``lenasched sweep``: the grid, its validation and limits, exact equality with ``simulate``, and the
same bytes whatever the block size and the backend (a local Dask cluster of 2 worker processes)."""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lenasched
from lenasched.cli.main import main
from lenasched.errors import MissingDependencyError, VariantError

needs_numpy = pytest.mark.skipif(importlib.util.find_spec("numpy") is None, reason="numpy (lenasched[sim]) missing")
needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("dask") is None or importlib.util.find_spec("distributed") is None,
    reason="dask[distributed] (lenasched[dask]) missing",
)
needs_pyarrow = pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow missing")

pytestmark = needs_numpy

ROOT = Path(__file__).resolve().parent.parent
GRID = ["lenalidomide.start=5,10", "lenalidomide.every_days=14,28"]
SMALL: dict[str, Any] = {"patients": 300, "seed": 3, "horizon": "16w"}


@pytest.fixture(scope="module")
def badoux() -> lenasched.Protocol:
    return lenasched.get_protocol("badoux-2011")


@pytest.fixture(scope="module")
def local_csv(badoux: lenasched.Protocol) -> str:
    from lenasched.design.simulation.sweep import sweep

    return sweep(badoux, GRID, **SMALL).to_csv()


# --- the grid ------------------------------------------------------------------------------------


def test_grid_values_ranges_and_list_fields(badoux: lenasched.Protocol) -> None:
    from lenasched.design.simulation.sweep import parse_grid

    axes = parse_grid(
        badoux,
        [
            "lenalidomide.start=5, 10,15",
            "lenalidomide.every_days=7:28:7",
            "lenalidomide.days=1-21|1-28",
            "badoux-2011:lenalidomide.dose_levels=25,20,15,10,5",
            "treatment.cycle_length_days=28",
        ],
    )
    assert [a.name for a in axes] == [
        "lenalidomide.start",
        "lenalidomide.every_days",
        "lenalidomide.days",
        "lenalidomide.dose_levels",
        "treatment.cycle_length_days",
    ]
    assert [a.values for a in axes] == [
        ("5", "10", "15"),
        ("7", "14", "21", "28"),
        ("1-21", "1-28"),
        ("25,20,15,10,5",),  # a list-valued field: commas are its own
        ("28",),
    ]
    assert [a.kind for a in axes] == ["float", "int", "text", "text", "int"]
    assert axes[3].lhs == "badoux-2011:lenalidomide.dose_levels"
    assert parse_grid(badoux, ["lenalidomide.start=2.5:5:1.25"])[0].values == ("2.5", "3.75", "5")


def test_grid_order_is_nested_loops_in_the_order_given(badoux: lenasched.Protocol) -> None:
    from lenasched.design.simulation.sweep import grid_points, parse_grid

    axes = parse_grid(badoux, ["lenalidomide.start=5,10,15", "lenalidomide.every_days=7,14"])
    assert grid_points(axes) == [("5", "7"), ("5", "14"), ("10", "7"), ("10", "14"), ("15", "7"), ("15", "14")]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ([], "give at least one --set"),
        (["lenalidomide.start=5,,10"], "an empty value"),
        (["lenalidomide.start=5,5.0"], "the value 5.0 is given twice"),
        (["lenalidomide.start=5", "lenalidomide.start=10"], "lenalidomide.start is set twice"),
        (["chen-2011:lenalidomide.start=5"], "aimed at 'chen-2011', not at 'badoux-2011'"),
        (["lenalidomide.every_days=28:7"], "needs START <= STOP and a positive STEP"),
        (["lenalidomide.every_days=7:14:2.5"], "every_days is a whole number"),
        (["lenalidomide.every_days=1:5000"], "has 5000 values; the limit is 1000"),
        (["lenalidomide.start=1:40", "lenalidomide.every_days=1:40"], "more than 1000 points (MAX_GRID_POINTS)"),
    ],
)
def test_bad_grids_are_refused(badoux: lenasched.Protocol, sets: list[str], message: str) -> None:
    from lenasched.design.simulation.sweep import SweepError, parse_grid

    with pytest.raises(SweepError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_grid(badoux, sets)


def test_an_override_that_does_not_parse_is_a_variant_error(badoux: lenasched.Protocol) -> None:
    from lenasched.design.simulation.sweep import parse_grid

    with pytest.raises(VariantError, match="name a drug"):
        parse_grid(badoux, ["start=5,10"])


def test_limits_are_checked_before_any_variant_is_made(
    badoux: lenasched.Protocol, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lenasched.design.simulation import sweep as module

    def no_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("work started before the limits were checked")

    monkeypatch.setattr(module, "apply_overrides", no_work)
    with pytest.raises(module.SweepError, match="MAX_GRID_POINTS"):
        module.plan_sweep(badoux, ["lenalidomide.start=1:40", "lenalidomide.every_days=1:40"])
    with pytest.raises(module.SweepError, match="MAX_SWEEP_PATIENTS"):
        module.plan_sweep(badoux, ["lenalidomide.every_days=1:30"], patients=10_000_000)
    with pytest.raises(module.SweepError, match="patients must be between"):
        module.plan_sweep(badoux, GRID, patients=0)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["lenalidomide.strat=5,10"],
            r"^grid point 1 of 2 \(lenalidomide.strat=5\): unknown drug field 'strat' \(valid: dose, start, .*\); "
            "1 more grid point refused too$",
        ),
        (["lenalidomide.start=5,abc"], r"^grid point 2 of 2 \(lenalidomide.start=abc\): start must be a number"),
        (
            ["lenalidomide.every_days=7", "lenalidomide.start=5,2.5"],
            r"^grid point 2 of 2 \(lenalidomide.every_days=7, lenalidomide.start=2.5\): makes badoux-2011 invalid "
            r"at phases.0.drugs.0.escalation.step: steps of 5 from 2.5 never land on the cap 25",
        ),
        (["ibrutinib.dose=5,10"], r"^grid point 1 of 2 \(ibrutinib.dose=5\): badoux-2011 has no drug or phase named"),
    ],
)
def test_a_bad_grid_point_is_named(badoux: lenasched.Protocol, sets: list[str], message: str) -> None:
    from lenasched.design.simulation.sweep import SweepError, plan_sweep

    with pytest.raises(SweepError, match=message) as caught:
        plan_sweep(badoux, sets, **SMALL)
    assert caught.value.point == int(message.split("grid point ")[1].split()[0])
    assert pickle.loads(pickle.dumps(caught.value)).point == caught.value.point  # it may come from a worker


# --- the numbers ---------------------------------------------------------------------------------


def test_a_grid_point_equals_simulate_of_the_same_variant(badoux: lenasched.Protocol) -> None:
    from lenasched.design.simulation import simulate
    from lenasched.design.simulation.sweep import plan_sweep
    from lenasched.design.variants import apply_overrides

    plan = plan_sweep(badoux, GRID, block_size=128, **SMALL)
    row = plan.run().records()[2]  # start 10, every 14 days
    assert (row["variant"], row["lenalidomide.start"], row["lenalidomide.every_days"]) == (3, 10.0, 14)
    variant = apply_overrides(badoux, ["lenalidomide.start=10", "lenalidomide.every_days=14"])
    result = simulate(variant, outcomes_from=badoux, **SMALL)
    metrics = {(m.name, m.statistic): m for m in result.metrics()}
    pairs = {
        "cumulative_mg_median": ("cumulative_dose", "median"),
        "cumulative_mg_mean": ("cumulative_dose", "mean"),
        "rdi_mean": ("relative_dose_intensity", "mean"),
        "time_to_target_median": ("time_to_target", "median"),
        "capsules_mean": ("capsules", "mean"),
        "clinic_visits_mean": ("clinic_visits", "mean"),
        "fraction_stopped": ("fraction_stopped", "proportion"),
    }
    for column, key in pairs.items():
        m = metrics[key]
        assert (row[column], row[f"{column}_ci_low"], row[f"{column}_ci_high"]) == (m.estimate, m.low, m.high), column
    assert row["patients"] == result.patients == 300
    assert row["planned_mg"] == float(result.planned_total_mg)
    assert row["fraction_stopped"] == result.fraction_stopped
    assert row["cumulative_mg_mean"] == pytest.approx(float(result.cumulative_mg.mean()))


def test_the_table_does_not_depend_on_the_block_size_or_the_order_results_come_in(
    badoux: lenasched.Protocol, local_csv: str
) -> None:
    from lenasched.design.simulation.sweep import plan_sweep, run_local

    for block in (97, 300):
        plan = plan_sweep(badoux, GRID, block_size=block, **SMALL)
        results = run_local(plan.units())
        assert plan.table(results).to_csv() == local_csv, block
        assert plan.table(results[::-1]).to_csv() == local_csv
    with pytest.raises(lenasched.LenaschedError, match="incomplete or twice"):
        plan.table(results[1:])


def test_work_units_are_plain_picklable_data(badoux: lenasched.Protocol) -> None:
    from lenasched.design.simulation.sweep import plan_sweep, run_unit
    from lenasched.model.loader import parse_protocol

    plan = plan_sweep(badoux, GRID, block_size=200, **SMALL)
    units = plan.units()
    assert [(u.variant, u.first_patient, u.patients) for u in units[:3]] == [(0, 0, 200), (0, 200, 100), (1, 0, 200)]
    unit = units[3]
    assert parse_protocol(unit.protocol_yaml) == plan.variants[1].protocol
    shipped = pickle.loads(pickle.dumps(unit))
    assert shipped == unit
    a, b = run_unit(unit), run_unit(shipped)
    assert a.tally.counts == b.tally.counts and a.tally.n == 100
    assert all((a.tally.hists[k] == b.tally.hists[k]).all() for k in a.tally.hists)


def test_a_protocol_with_its_own_rules_travels_as_text_too() -> None:
    from lenasched.design.simulation.sweep import plan_sweep, run_unit

    label = lenasched.get_protocol("label-mm-rd")  # its model holds the protocol's lab rules
    rates = {"neutropenia": 0.1, "thrombocytopenia": 0.05}
    plan = plan_sweep(label, ["lenalidomide.days=1-21|1-14"], patients=30, horizon="8w", rates=rates)
    assert plan.variants[0].model.mode == "rules"
    unit = plan.units()[1]
    shipped = pickle.loads(pickle.dumps(unit))
    assert run_unit(shipped).tally.counts == run_unit(unit).tally.counts


def test_columns_are_typed_and_documented(badoux: lenasched.Protocol, local_csv: str) -> None:
    from lenasched.design.simulation.sweep import COLUMNS, sweep

    table = sweep(badoux, [*GRID, "lenalidomide.days=1-28|1-21"], patients=50, horizon="4w")
    for column, value in zip(table.columns, table.rows[0]):
        expected = {"int": int, "float": float, "text": str}[column.kind]
        assert value is None or type(value) is expected, column.name
    header = local_csv.splitlines()[0].split(",")
    assert header[:4] == ["variant", "protocol", "lenalidomide.start", "lenalidomide.every_days"]
    assert header[-1] == "overrides"
    page = (ROOT / "docs" / "sweep.md").read_text(encoding="utf-8")
    missing = [c.name for c in COLUMNS if f"`{c.name.removesuffix('_ci_low').removesuffix('_ci_high')}`" not in page]
    assert missing == []


def test_time_to_target_is_empty_when_nobody_reaches_the_cap(badoux: lenasched.Protocol) -> None:
    from lenasched.design.simulation.sweep import sweep

    table = sweep(badoux, ["lenalidomide.start=5"], patients=20, horizon="4w")
    (row,) = table.records()
    assert row["reached_target"] == 0.0 and row["time_to_target_median"] is None
    line = table.to_csv().splitlines()[1].split(",")
    assert line[table.to_csv().splitlines()[0].split(",").index("time_to_target_median")] == ""


# --- Dask ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_runner() -> Iterator[Any]:
    from lenasched.design.simulation.sweep import DaskRunner

    with DaskRunner(workers=2) as runner:
        yield runner


@needs_dask
def test_a_local_dask_cluster_gives_the_same_bytes(
    badoux: lenasched.Protocol, local_csv: str, dask_runner: Any
) -> None:
    from lenasched.design.simulation.sweep import plan_sweep

    assert dask_runner.describe() == "dask, local cluster of 2 worker processes (1 thread each)"
    assert len(dask_runner.check_workers()) == 2
    plan = plan_sweep(badoux, GRID, block_size=128, **SMALL)  # 12 units over 2 processes
    assert plan.run(dask_runner).to_csv() == local_csv


@needs_dask
def test_the_local_cluster_keeps_glibcs_own_trimming(dask_runner: Any) -> None:
    """Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 by default, under which the simulation ran 2.6x
    slower on the workers (docs/sweep.md); the cluster ``--dask`` starts leaves it unset."""
    import os

    def trim() -> str | None:
        return os.environ.get("MALLOC_TRIM_THRESHOLD_")

    assert set(dask_runner.client.run(trim).values()) == {os.environ.get("MALLOC_TRIM_THRESHOLD_")}
    assert os.environ.get("MALLOC_TRIM_THRESHOLD_") != "65536"  # (nor set in this process by the nannies)


@needs_dask
def test_cli_on_a_running_scheduler(
    tmp_path: Path, local_csv: str, dask_runner: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    address = dask_runner.client.scheduler.address
    out = tmp_path / "sweep.csv"
    argv = ["sweep", "badoux-2011", *(f"--set={s}" for s in GRID), "--patients=300", "--seed=3", "--horizon=16w"]
    assert main([*argv, "--scheduler", address, "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"backend dask, scheduler {address} with 2 workers" in err
    assert out.read_text(encoding="utf-8") == local_csv


def test_dask_workers_must_match_this_machine() -> None:
    from lenasched.design.simulation.sweep import DaskRunner, SweepError, _versions

    class Client:
        def __init__(self, versions: dict[str, tuple[str, str]]) -> None:
            self.versions = versions
            self.closed = False

        def run(self, function: Any) -> dict[str, tuple[str, str]]:
            return self.versions

        def close(self) -> None:
            self.closed = True

    mine = _versions()
    assert DaskRunner(client=Client({"tcp://a:1": mine})).check_workers() == {"tcp://a:1": mine}
    with pytest.raises(SweepError, match=r"Dask worker tcp://b:1 runs lenasched 0\.0\.1 with numpy"):
        DaskRunner(client=Client({"tcp://a:1": mine, "tcp://b:1": ("0.0.1", mine[1])})).check_workers()
    with pytest.raises(SweepError, match="has no workers"):
        DaskRunner(scheduler="tcp://x:8786", client=Client({})).check_workers()


@pytest.mark.parametrize("address", ["nonsense://x:1", "tcp://host", "tcp://:8786", "host:port"])
def test_a_scheduler_address_that_cannot_work_is_refused_first(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from lenasched.design.simulation.sweep import SweepError, check_address

    with pytest.raises(SweepError, match="not a Dask scheduler address"):
        check_address(address)
    if importlib.util.find_spec("distributed") is not None:
        assert main(["sweep", "badoux-2011", "--set=lenalidomide.start=5", "--scheduler", address]) == 1
        captured = capsys.readouterr()
        assert captured.err.startswith(f"error: --scheduler {address}: not a Dask") and captured.err.count("\n") == 1
    for good in ("tcp://10.0.0.5:8786", "tls://scheduler.example:8786", "localhost:8786"):
        check_address(good)


def test_without_dask_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from lenasched.design.simulation.sweep import DaskRunner

    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'lenasched\[dask\]'"), DaskRunner(workers=1):
        pass


# --- the command line ----------------------------------------------------------------------------


def test_cli_writes_the_table(
    badoux: lenasched.Protocol, tmp_path: Path, local_csv: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from lenasched.design.simulation.sweep import sweep

    argv = ["sweep", "badoux-2011", *(f"--set={s}" for s in GRID), "--patients", "300", "--seed", "3"]
    out = tmp_path / "sweep.csv"
    assert main([*argv, "--horizon", "16w", "--block-size", "100", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == local_csv
    err = capsys.readouterr().err
    assert "sweep: 4 variants (lenalidomide.start 2 x lenalidomide.every_days 2) x 300 patients, 12 work units" in err
    assert "backend local (numpy, this process)" in err
    tiny = ["lenalidomide.start=5,10"]
    assert main(["sweep", "badoux-2011", f"--set={tiny[0]}", "--patients=20", "--days=28"]) == 0  # to stdout
    assert capsys.readouterr().out == sweep(badoux, tiny, patients=20, horizon=28).to_csv()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "lenalidomide.start=2.5,5"], "error: grid point 1 of 2 (lenalidomide.start=2.5): makes badoux-2011"),
        ([], "error: give at least one --set"),
        (["--set", "lenalidomide.start=5", "--workers", "2"], "error: --workers sizes the local Dask cluster"),
    ],
)
def test_cli_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "badoux-2011", "--patients", "10", *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message) and captured.err.count("\n") == 1, captured.err


@needs_pyarrow
def test_parquet_reads_back(badoux: lenasched.Protocol, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lenasched.design.simulation.sweep import sweep

    pq = importlib.import_module("pyarrow.parquet")

    grid = ["lenalidomide.start=5,10", "lenalidomide.days=1-21|1-28"]
    expected = sweep(badoux, grid, patients=40, seed=2, horizon="10w")
    out = tmp_path / "sweep.parquet"  # the format follows the extension
    argv = ["sweep", "badoux-2011", *(f"--set={s}" for s in grid), "--patients=40", "--seed=2", "--horizon=10w"]
    assert main([*argv, "-o", str(out)]) == 0
    assert "4 rows (parquet)" in capsys.readouterr().err
    table = pq.read_table(out)
    types = {name: str(table.schema.field(name).type) for name in table.schema.names}
    assert types["variant"] == types["patients"] == "int64"
    assert types["lenalidomide.start"] == types["rdi_mean"] == "double"
    assert types["protocol"] == types["lenalidomide.days"] == types["overrides"] == "string"
    assert b"lenasched.sweep" in (table.schema.metadata or {})
    assert table.to_pylist() == expected.records()  # floats exact; undefined values null


def test_parquet_without_pyarrow_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    argv = ["sweep", "badoux-2011", "--set=lenalidomide.start=5", "--patients=10", "--format=parquet", "-o", "-"]
    assert main(argv) == 1
    assert "pip install 'lenasched[parquet]'" in capsys.readouterr().err

"""The two simulation runners agree, patient by patient and count by count (issue 15).

``core.run_block`` walks the doses; ``by_event.run_events`` moves every patient from event to event
where it applies (one course, every event lowers the dose). Everything a result reports comes from
these blocks, so comparing the blocks whole (per-patient arrays, every histogram and count, and
their order) on every bundled protocol and on drawn parameters is the check that the fast runner
is the same simulation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import lenasched
from lenasched.design.compare import DEFAULT_START
from lenasched.design.simulation import build_model
from lenasched.design.simulation import by_event as by_event_module
from lenasched.design.simulation.core import Block, run_block
from lenasched.design.simulation.plan import build_plan
from lenasched.design.simulation.streams import PatientStreams
from lenasched.errors import SimulationError


def _setup(pid: str, event_prob: float | None, recovery: int = 14, days: int = 728, levels: Any = None) -> Any:
    protocol = lenasched.get_protocol(pid)
    model = build_model(protocol, event_prob=event_prob, recovery_days=recovery)
    plan = build_plan(protocol, DEFAULT_START, days, None, "lenalidomide", levels)
    return plan, model


def _runs(plan: Any, model: Any, seed: int, first: int, n: int) -> tuple[Block, Block]:
    dose_by_dose = run_block(plan, model, PatientStreams(seed), first, n, by_event=False)
    event_by_event = run_block(plan, model, PatientStreams(seed), first, n, by_event=True)
    return dose_by_dose, event_by_event


def _assert_same(a: Block, b: Block) -> None:
    for name in ("units", "events", "stopped"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert list(a.tally.counts.items()) == list(b.tally.counts.items())  # (their order too: summaries follow it)
    assert list(a.tally.hists) == list(b.tally.hists)
    for name, counts in a.tally.hists.items():
        np.testing.assert_array_equal(counts, b.tally.hists[name], err_msg=name)
    assert a.tally.n == b.tally.n


def _applies(plan: Any, model: Any) -> bool:
    try:
        run_block(plan, model, PatientStreams(0), 0, 1, by_event=True)
    except SimulationError:
        return False
    return True


def _cases() -> list[tuple[str, float | None]]:
    cases = []
    for pid in lenasched.bundled_ids():
        for event_prob in (None, 0.2):
            try:
                plan, model = _setup(pid, event_prob)
            except SimulationError:  # (no reported rate to default from)
                continue
            if _applies(plan, model):
                cases.append((pid, event_prob))
    return cases


CASES = _cases()
APPLIES = sorted({pid for pid, _ in CASES})


def test_the_event_runner_covers_most_bundled_protocols() -> None:
    # (so the comparisons below cannot pass by comparing nothing)
    assert len(APPLIES) >= 18
    assert {"badoux-2011", "chanan-khan-2006", "gimema-llc0606", "aue-2009"} <= set(APPLIES)


@pytest.mark.parametrize(("pid", "event_prob"), CASES)
def test_same_results_on_every_bundled_protocol(pid: str, event_prob: float | None) -> None:
    plan, model = _setup(pid, event_prob)
    _assert_same(*_runs(plan, model, seed=3, first=11, n=1500))


@pytest.mark.parametrize("event_prob", [1.0, 0.999, 0.5, 0.01, 0.0])
@pytest.mark.parametrize("pid", ["badoux-2011", "chanan-khan-2006", "label-mcl"])
def test_same_results_at_extreme_rates(pid: str, event_prob: float) -> None:
    plan, model = _setup(pid, event_prob)
    _assert_same(*_runs(plan, model, seed=1, first=0, n=400))


@pytest.mark.parametrize("recovery", [0, 1, 6, 7, 27, 28, 60, 400])
def test_same_results_for_any_recovery_time(recovery: int) -> None:
    plan, model = _setup("chanan-khan-2006", 0.3, recovery=recovery)
    _assert_same(*_runs(plan, model, seed=2, first=5, n=600))


def test_same_results_on_a_ladder_given_and_a_short_horizon() -> None:
    levels = [Decimal(x) for x in ("2.5", "5", "7.5", "10", "15", "20", "25")]
    plan, model = _setup("badoux-2011", 0.4, days=100, levels=levels)
    _assert_same(*_runs(plan, model, seed=4, first=0, n=500))


def test_climbing_back_after_a_hold_is_exercised_and_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """chanan-khan-2006 escalates every 14 days: a hold over two escalations leaves the step behind."""
    calls = []
    original = by_event_module._Run.climb_back

    def counting(self: Any) -> Any:
        calls.append(int(self.live["lagging"].sum()))
        return original(self)

    monkeypatch.setattr(by_event_module._Run, "climb_back", counting)
    plan, model = _setup("chanan-khan-2006", 0.3)
    _assert_same(*_runs(plan, model, seed=5, first=0, n=2000))
    assert sum(calls) > 50


def test_patients_run_in_small_groups_give_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    plan, model = _setup("badoux-2011", None)
    whole = run_block(plan, model, PatientStreams(9), 0, 700, by_event=True)
    monkeypatch.setattr(by_event_module, "_PATIENTS_AT_ONCE", 7)
    _assert_same(whole, run_block(plan, model, PatientStreams(9), 0, 700, by_event=True))


def test_the_event_runner_refuses_a_plan_it_does_not_cover() -> None:
    plan, model = _setup("gcllsg-2011-blr", 0.2)  # three courses
    with pytest.raises(SimulationError, match="does not apply"):
        run_block(plan, model, PatientStreams(0), 0, 10, by_event=True)
    run_block(plan, model, PatientStreams(0), 0, 10)  # (the default picks the dose-by-dose runner)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pid=st.sampled_from(APPLIES),
    event_prob=st.floats(min_value=0.001, max_value=1.0),
    recovery=st.integers(min_value=0, max_value=90),
    days=st.integers(min_value=20, max_value=1100),
    seed=st.integers(min_value=0, max_value=2**32),
    first=st.integers(min_value=0, max_value=10**6),
    n=st.integers(min_value=1, max_value=120),
)
# (found by this test: a patient climbing back reached the horizon, and the next stretch looked up its cycle)
@example(pid="ferrajoli-2008", event_prob=0.5, recovery=28, days=85, seed=0, first=79, n=120)
def test_same_results_on_drawn_parameters(
    pid: str, event_prob: float, recovery: int, days: int, seed: int, first: int, n: int
) -> None:
    plan, model = _setup(pid, event_prob, recovery=recovery, days=days)
    if not _applies(plan, model):
        return
    _assert_same(*_runs(plan, model, seed=seed, first=first, n=n))

"""The simulation cannot disagree with the calendar: rule-driven events, streams per patient, merging."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched.design.simulation import build_model, simulate, simulate_compare
from lenasched.design.simulation.plan import build_plan
from lenasched.design.simulation.stats import Tally
from lenasched.model.labs import LabResult

np = pytest.importorskip("numpy")

START = date(2001, 1, 1)
FIRE = {"anc": Decimal("0.5"), "plt": Decimal("20")}
RECOVER = {"anc": Decimal("1.5"), "plt": Decimal("100")}


def simulated(proto: lenasched.Protocol, horizon: int, events: dict[int, str], recovery: int) -> list[int]:
    from lenasched.design.simulation import _run

    plan = build_plan(proto, START, horizon, None, "lenalidomide", None)
    model = build_model(proto, rates={r.id: 0.1 for r in proto.dose_modification if r.action.value == "interrupt"})
    model = type(model)(model.kinds, recovery, model.mode, model.parameters)
    block = _run(plan, 1, None, model.rate, recovery, True, forced=events, model=model)
    return [int(x) for x in block.daily[0]]


def labs_for(proto: lenasched.Protocol, real: list[tuple[int, str]], recovery: int) -> list[LabResult]:
    rules = {r.id: r for r in proto.dose_modification}
    out = []
    for day, rule_id in real:
        rule = rules[rule_id]
        fire: dict[str, Decimal]
        back: dict[str, Decimal]
        if rule.lab is not None:
            fire, back = {rule.lab: FIRE[rule.lab]}, {rule.lab: RECOVER[rule.lab]}
        else:
            fire, back = {"grade.rash": Decimal(3)}, {"grade.rash": Decimal(1)}
        out += [
            LabResult(date=START + timedelta(days=day + 1), values=fire),
            LabResult(date=START + timedelta(days=day + 1 + recovery), values=back),
        ]
    return out


def expanded(proto: lenasched.Protocol, horizon: int, labs: list[LabResult]) -> list[int]:
    cal = lenasched.expand(proto, START, until=START + timedelta(days=horizon - 1), labs=labs)
    out = [0] * horizon
    for row in cal.for_drug("lenalidomide"):
        out[(row.date - START).days] = int(row.dose_mg * 10_000)
    return out


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_rule_driven_patient_is_the_expanded_calendar_with_those_lab_results(data: st.DataObject) -> None:
    """label-mm-rd's own Table 1 rules: the simulated patient equals ``expand(labs=...)`` day by day."""
    proto = lenasched.get_protocol("label-mm-rd")
    horizon = 200
    rule_ids = [r.id for r in proto.dose_modification]
    days = data.draw(st.lists(st.integers(0, 150), max_size=5, unique=True).map(sorted))
    kinds = {d: data.draw(st.sampled_from(rule_ids)) for d in days}
    recovery = data.draw(st.integers(1, 21))
    sim = simulated(proto, horizon, kinds, recovery)
    real: list[tuple[int, str]] = []
    for day in days:  # an event happens on a dose day the patient takes a dose, not while held
        if sim[day] and not any(r <= day <= r + recovery for r, _ in real):
            real.append((day, kinds[day]))
    assert sim == expanded(proto, horizon, labs_for(proto, real, recovery))


def test_the_rules_decide_what_follows() -> None:
    """Neutropenia first resumes at the starting dose, then one level lower (label Table 1)."""
    proto = lenasched.get_protocol("label-mm-rd")
    sim = simulated(proto, 120, {0: "neutropenia", 28: "neutropenia", 56: "thrombocytopenia"}, 7)
    assert sim[8] == 250_000  # back at 25 mg after the first drop
    assert sim[36] == 200_000  # then 20 mg
    assert sim[64] == 150_000  # thrombocytopenia: next lower


def test_rule_mode_parameters_and_refusal() -> None:
    proto = lenasched.get_protocol("label-mm-rd")
    with pytest.raises(lenasched.errors.SimulationError, match="--rate thrombocytopenia=P"):
        build_model(proto)
    model = build_model(proto, rates={"neutropenia": 0.2})
    assert model.mode == "rules"
    names = {p.name: p for p in model.parameters}
    assert names["rate.neutropenia"].source.startswith("given")
    assert "not simulated" in names["rate.thrombocytopenia"].source
    assert names["rule.neutropenia"].value == "start, then lower"


# --- one stream per patient: N, chunking, common random numbers ----------------------------------


def test_patient_results_do_not_depend_on_n_or_chunking() -> None:
    proto = lenasched.get_protocol("badoux-2011")
    small = simulate(proto, patients=300, seed=9, horizon=180)
    big = simulate(proto, patients=1000, seed=9, horizon=180, chunk_size=77)
    assert (big.cumulative_mg[:300] == small.cumulative_mg).all()
    assert (big.events[:300] == small.events).all()
    tail = simulate(proto, patients=700, seed=9, horizon=180, first_patient=300, chunk_size=128)
    assert (big.cumulative_mg[300:] == tail.cumulative_mg).all()
    # the exact tallies merge: two halves make the whole
    whole = simulate(proto, patients=1000, seed=9, horizon=180)
    assert small.tally is not None and tail.tally is not None and whole.tally is not None
    merged = small.tally.merge(tail.tally)
    assert merged.counts == whole.tally.counts
    for name, hist in whole.tally.hists.items():
        assert (merged.hists[name] == hist).all()
    assert whole.summary() == simulate(proto, patients=1000, seed=9, horizon=180, chunk_size=100).summary()


@pytest.mark.parametrize(
    ("protocol_id", "levels"),
    [
        ("badoux-2011", (("lower", "lower"), ("lower", "lower"))),  # the drug stops at the event's resumption
        ("badoux-2011", (("same", "lower"), ("start", "same"))),
        ("label-mm-rd", (("start", "lower"), ("lower", "lower"))),
        ("gcllsg-2011-blr", (("lower", "lower"), ("same", "same"))),  # several phases
    ],
)
def test_a_patient_is_the_same_alone_or_among_patients_who_stop(
    protocol_id: str, levels: tuple[tuple[str, str], ...]
) -> None:
    """Most patients stop at these rates, and the run moves stopped patients behind the live ones: each
    patient's numbers, day by day, are still those it gets simulated alone."""
    from lenasched.design.simulation import EventKind, EventRate, Model
    from lenasched.design.simulation.core import run_block
    from lenasched.design.simulation.streams import PatientStreams

    plan = build_plan(lenasched.get_protocol(protocol_id), START, 300, None, "lenalidomide", None)
    rates = ((0.7,), (0.3,))
    kinds = tuple(EventKind(f"k{i}", EventRate(r, ()), a, b) for i, (r, (a, b)) in enumerate(zip(rates, levels)))
    model = Model(kinds, 10, "rules", ())
    streams = PatientStreams(4)
    block = run_block(plan, model, streams, 100, 60, keep_daily=True)
    assert block.stopped.mean() > 0.5
    assert block.daily is not None
    for i in range(0, 60, 7):
        alone = run_block(plan, model, streams, 100 + i, 1, keep_daily=True)
        assert alone.daily is not None
        assert block.units[i] == alone.units[0] and block.events[i] == alone.events[0]
        assert block.stopped[i] == alone.stopped[0]
        assert (block.daily[i] == alone.daily[0]).all()


def test_two_draws_in_one_pass_are_the_draws_one_at_a_time() -> None:
    from lenasched.design.simulation.streams import PatientStreams

    streams = PatientStreams(3)
    keys = streams.keys(np.arange(5, 1005))
    draws = np.arange(1000, dtype=np.uint16) % 7
    both = streams.uniforms_from(keys, draws, 2)
    assert (both[0] == streams.uniform_from(keys, draws)).all()
    assert (both[1] == streams.uniform_from(keys, draws + 1)).all()


def test_common_random_numbers_make_paired_differences_precise() -> None:
    a = lenasched.get_protocol("badoux-2011")
    b = lenasched.apply_overrides(a, ["lenalidomide.days=1-21"]) if hasattr(lenasched, "apply_overrides") else None
    if b is None:
        from lenasched.design.variants import apply_overrides

        b = apply_overrides(a, ["lenalidomide.days=1-21"], version="test")
    crn = simulate_compare([a, b], patients=2000, seed=4, horizon=168, outcomes_from=a)
    alone = simulate(a, patients=2000, seed=4, horizon=168)
    assert (crn.results[0].cumulative_mg == alone.cumulative_mg).all()
    paired = crn.results[1].cumulative_mg - crn.results[0].cumulative_mg
    independent = simulate(b, patients=2000, seed=5, horizon=168, outcomes_from=a).cumulative_mg - alone.cumulative_mg
    assert paired.std() < independent.std()
    row = crn.differences()[0]
    assert row["ci_low"] <= row["cumulative_mg_difference"] <= row["ci_high"]


def test_tally_quantiles_match_numpy() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 50, size=1001)
    t = Tally(n=len(values))
    t.add_hist("x", values[:400])
    t = t.merge(Tally(n=0, hists={}, counts={}))
    t.add_hist("x", values[400:])
    for q in (0.25, 0.5, 0.75, 0.9):
        assert t.quantile("x", q) == pytest.approx(np.percentile(values, 100 * q))
    assert t.mean("x") == pytest.approx(values.mean())
    est, lo, hi = t.quantile_ci("x", 0.5)
    assert lo <= est <= hi


# --- outputs, provenance, notes --------------------------------------------------------------------


def test_metrics_with_intervals_and_the_implausibility_note() -> None:
    proto = lenasched.get_protocol("badoux-2011")
    result = simulate(proto, patients=2000, seed=1)
    metrics = {(m.name, m.statistic): m for m in result.metrics()}
    for key in (
        ("dose_intensity", "median"),
        ("relative_dose_intensity", "median"),
        ("time_to_target", "median"),
        ("treatment_duration", "median"),
        ("capsules", "mean"),
        ("clinic_visits", "mean"),
        ("fraction_stopped", "proportion"),
    ):
        m = metrics[key]
        assert m.low <= m.estimate <= m.high, key
    assert "admiral" in metrics[("relative_dose_intensity", "median")].definition
    notes = result.notes()
    assert len(notes) == 1 and "rate.neutropenia_g34_pct" in notes[0] and "stopped" in notes[0]
    calm = simulate(proto, patients=500, seed=1, event_prob=0.02)
    assert calm.notes() == []
    # with no events, relative dose intensity is 100 % and every patient reaches the target on plan
    plan = simulate(proto, patients=50, seed=1, event_prob=0)
    by = {(m.name, m.statistic): m for m in plan.metrics()}
    assert by[("relative_dose_intensity", "median")].estimate == pytest.approx(100)
    assert by[("time_to_target", "median")].estimate == 141


def _bundled_with_lenalidomide() -> list[str]:
    from lenasched.model.registry import bundled_ids

    ids = []
    for protocol_id in bundled_ids():
        proto = lenasched.get_protocol(protocol_id)
        if any(r.drug == "lenalidomide" and r.unit == "mg" for r in proto.regimens):
            ids.append(protocol_id)
    return ids


@pytest.mark.parametrize("protocol_id", _bundled_with_lenalidomide())
def test_every_bundled_protocol_simulates_as_it_expands(protocol_id: str) -> None:
    """Generic model, fixed events: hold from the next day, resume one level lower = ``expand`` with those events."""
    from lenasched.design.compare import REFERENCE_PATIENT
    from lenasched.design.simulation import EventRate, _run
    from lenasched.model.events import Hold, PatientEvents, Resume

    proto = lenasched.get_protocol(protocol_id)
    horizon, recovery = 200, 9
    plan = build_plan(proto, START, horizon, None, "lenalidomide", None)
    wanted = [0, 30, 61, 95, 140]
    block = _run(plan, 1, None, EventRate((0.0,), ()), recovery, True, forced=wanted)
    sim = [int(x) for x in block.daily[0]]
    lead = plan.lead_days
    real: list[int] = []
    for day in wanted:
        if sim[day + lead] and not any(r <= day <= r + recovery for r in real):
            real.append(day)
    events = []
    for day in real:
        events += [
            Hold(date=START + timedelta(days=day + 1), reason="simulated event"),
            Resume(date=START + timedelta(days=day + 1 + recovery), level="lower"),
        ]
    cal = lenasched.expand(
        proto,
        START,
        until=START + timedelta(days=horizon - 1),
        events=PatientEvents(events=events),
        patient=REFERENCE_PATIENT,
    )
    expected = [0] * (lead + horizon)
    for row in cal.for_drug("lenalidomide"):
        expected[(row.date - START).days + lead] = int(row.dose_mg * 10_000)
    assert sim == expected


# --- the random-number mapping, the dose search, progress -------------------------------------------


def test_the_random_numbers_are_what_they_were() -> None:
    """Per-patient results pinned: a faster core must give every patient the same numbers (seed 7, patients
    1000-1007 of badoux-2011; label-mm-rd on its rules), not merely the same distribution."""
    r = simulate(lenasched.get_protocol("badoux-2011"), patients=8, seed=7, event_prob=0.2, first_patient=1000)
    assert r.cumulative_mg.tolist() == [8210.0, 2550.0, 1450.0, 1087.5, 390.0, 337.5, 11275.0, 332.5]
    assert r.events.tolist() == [5, 2, 3, 3, 2, 2, 3, 2]
    assert r.stopped.tolist() == [False, False, True, True, True, True, False, True]
    rates = {"thrombocytopenia": 0.1, "neutropenia": 0.2, "other-grade-3-4": 0.05}
    rd = simulate(lenasched.get_protocol("label-mm-rd"), patients=6, seed=11, rates=rates, first_patient=50)
    assert rd.cumulative_mg.tolist() == [4735.0, 3175.0, 4937.5, 8480.0, 5377.5, 5612.5]
    assert rd.events.tolist() == [7, 7, 7, 5, 7, 7]


@pytest.mark.parametrize("rates", [(0.2,), (0.0, 0.3), (1.0, 0.1), (0.5, 0.0, 0.2), (1e-9,), (0.3, 0.0)])
@pytest.mark.parametrize("protocol_id", ["badoux-2011", "gcllsg-2011-blr", "label-mm-rd", "chen-2011"])
def test_the_dose_search_is_searchsorted(protocol_id: str, rates: tuple[float, ...]) -> None:
    """Where an exponential threshold lands: the bucket table gives numpy's answer, exactly, at the edges too."""
    from lenasched.design.simulation import EventKind, EventRate, Model
    from lenasched.design.simulation.core import _hazards, _Search

    plan = build_plan(lenasched.get_protocol(protocol_id), START, 400, None, "lenalidomide", None)
    hazard, _ = _hazards(plan, Model((EventKind("x", EventRate(rates, ())),), 14, "generic", ()))
    if not len(hazard) or hazard[-1] <= 0:
        return
    search = _Search(hazard)
    rng = np.random.default_rng(1)
    u = (rng.integers(0, 2**53, 20_000) + 0.5) / 2**53
    t = np.concatenate(
        [
            hazard[len(hazard) // 3] - np.log(u),
            -np.log(u),
            hazard,
            np.nextafter(hazard, np.inf),
            np.nextafter(hazard, -np.inf),
            [0.0, 5e-324, 1e6, 1e30],
        ]
    )
    assert (search.before(t) == np.searchsorted(hazard, t, side="left")).all()


def test_progress_counts_patients_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    proto = lenasched.get_protocol("badoux-2011")
    simulate(proto, patients=300, seed=2, horizon=200, chunk_size=77, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (300, 300)
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done)  # monotone, each count once
    assert {t for _, t in calls} == {300} and len(calls) > 4  # within blocks too, not only at their ends
    both: list[tuple[int, int]] = []
    simulate_compare([proto, proto], patients=50, seed=2, horizon=100, progress=lambda d, t: both.append((d, t)))
    assert both[-1] == (100, 100) and [d for d, _ in both] == sorted(d for d, _ in both)


# --- delay_cycle rules --------------------------------------------------------------------------------


def test_a_start_condition_changes_no_simulated_dose() -> None:
    """label-mm-maintenance's delay_cycle rules check cycle 1 only (start when counts have recovered). ``expand``
    will not delay cycle 1: it asks for a later start instead, so day 1 is the day treatment begins. A simulated
    patient is therefore the calendar of a patient whose counts allowed the start on day 1, with the same events."""
    from lenasched.design.simulation import EventRate, _run
    from lenasched.model.events import Hold, PatientEvents, Resume
    from lenasched.model.labs import LabError

    proto = lenasched.get_protocol("label-mm-maintenance")
    model = build_model(proto, event_prob=0.2)
    names = {p.name: p for p in model.parameters}
    assert names["rule.start-anc"].value == names["rule.start-plt"].value == "start condition"
    assert "cycle 1 day 1 is the day treatment begins" in names["rule.start-anc"].source
    horizon, recovery = 200, 9
    plan = build_plan(proto, START, horizon, None, "lenalidomide", None)
    block = _run(plan, 1, None, EventRate((0.0,), ()), recovery, True, forced=[3, 40, 95])
    sim = [int(x) for x in block.daily[0]]
    real: list[int] = []
    for day in (3, 40, 95):
        if sim[day] and not any(r <= day <= r + recovery for r in real):
            real.append(day)
    events = []
    for day in real:
        events += [
            Hold(date=START + timedelta(days=day + 1), reason="simulated event"),
            Resume(date=START + timedelta(days=day + 1 + recovery), level="lower"),
        ]
    counts_ok = [LabResult(date=START, values={"anc": Decimal("1.6"), "plt": Decimal("120")})]
    cal = lenasched.expand(
        proto, START, until=START + timedelta(days=horizon - 1), events=PatientEvents(events=events), labs=counts_ok
    )
    expected = [0] * horizon
    for row in cal.for_drug("lenalidomide"):
        expected[(row.date - START).days] = int(row.dose_mg * 10_000)
    assert sim == expected
    low = [
        LabResult(date=START, values={"anc": Decimal("0.6")}),
        LabResult(date=START + timedelta(days=4), values={"anc": Decimal("1.2")}),
    ]
    with pytest.raises(LabError, match="cycle 1 cannot start"):
        lenasched.expand(proto, START, until=START + timedelta(days=horizon - 1), labs=low)


def test_a_delay_rule_for_every_cycle_is_announced_as_not_simulated() -> None:
    text = """
schema_version: 1
id: delayed
title: delay rule on every cycle
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
        dose_levels: [25, 20, 15]
dose_modification:
  - id: anc-day1
    lab: anc
    action: delay_cycle
    below: 1.0
    recover_at_least: 1.0
    checked_within_days: 3
  - id: plt
    lab: plt
    action: interrupt
    below: 30
    recover_at_least: 30
    resume_at: lower
"""
    proto = lenasched.parse_protocol(text)
    result = simulate(proto, patients=50, horizon=168, rates={"plt": 0.1})
    names = {p.name: p for p in result.parameters}
    assert names["rule.anc-day1"].value == "not simulated"
    assert "keep their planned dates" in names["rule.anc-day1"].source
    assert any(note.startswith("rule.anc-day1 is not simulated") for note in result.notes())

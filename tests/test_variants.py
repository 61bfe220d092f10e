"""What-if variants: the override parser, its refusals, and YAML files that read back unchanged."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched.cli.main import main
from lenasched.design.variants import apply_overrides, parse_override, protocol_to_yaml
from lenasched.errors import LenaschedError, VariantError
from lenasched.formats.csv import to_csv

# Chen-like: 2.5 mg escalating by 2.5 mg every cycle to 10 mg, days 1-21 of 28, 6 induction cycles,
# then 5 mg maintenance days 1-21 until progression.
CHEN_LIKE = """
schema_version: 1
id: chen-like
title: Chen-like escalation with maintenance
setting: test
citation: {title: test protocol}
references:
  other: {title: another source}
notes: Built for the tests.
phases:
  - name: induction
    cycle_length_days: {value: 28, source: primary, detail: Methods}
    cycles: 6
    drugs:
      - drug: lenalidomide
        days: {value: 1-21, source: primary}
        escalation:
          start: {value: 2.5, source: primary, detail: "amended: 2.5 mg"}
          step: {value: 2.5, source: other}
          cap: 10
          every_cycles: 1
        dose_levels: [10, 7.5, 5, 2.5]
      - drug: allopurinol
        dose: 300
        days: 1-14
        cycles: 1
  - name: maintenance
    cycle_length_days: 28
    until_progression: true
    drugs:
      - drug: lenalidomide
        dose: 5
        days: 1-21
outcomes:
  patients: 25
  orr_pct: 56
"""

START = date(2026, 1, 5)


@pytest.fixture(scope="module")
def chen() -> lenasched.Protocol:
    return lenasched.parse_protocol(CHEN_LIKE)


def regimen(protocol: lenasched.Protocol, phase: int, drug: str = "lenalidomide") -> lenasched.DrugRegimen:
    return next(r for r in protocol.phases[phase].drugs if r.drug == drug)


# --- the parser -----------------------------------------------------------------------------------


def test_parse_forms() -> None:
    o = parse_override("chen-2011:lenalidomide.start=5")
    assert (o.protocol_id, o.target, o.phase, o.field, o.value) == ("chen-2011", "lenalidomide", None, "start", "5")
    o = parse_override(" lenalidomide@maintenance.dose = 10 ")
    assert (o.protocol_id, o.target, o.phase, o.field, o.value) == (None, "lenalidomide", "maintenance", "dose", "10")
    o = parse_override("induction.cycle_length_days=21")
    assert (o.target, o.field, o.value) == ("induction", "cycle_length_days", "21")
    assert parse_override("lenalidomide.days=1-21").value == "1-21"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lenalidomide.start", "expected ID:drug.field=value"),
        ("lenalidomide.start=", "expected ID:drug.field=value"),
        ("start=5", "name a drug (or phase) and a field"),
        ("Chen 2011:lenalidomide.start=5", "is not a protocol id"),
        ("@maintenance.dose=5", "write drug@phase"),
    ],
)
def test_parse_refusals(text: str, message: str) -> None:
    with pytest.raises(VariantError) as info:
        parse_override(text)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError) and info.value.spec == text


# --- applying overrides ---------------------------------------------------------------------------


def test_start_dose(chen: lenasched.Protocol) -> None:
    v = apply_overrides(chen, ["lenalidomide.start=5"])
    esc = regimen(v, 0).escalation
    assert esc is not None and esc.levels == (5, Decimal("7.5"), 10)
    assert esc.start is not None and esc.start.value == 5 and esc.start.source is None
    assert esc.start.assumption == (
        "what-if variant: set by `lenalidomide.start=5`; the protocol gives 2.5 (primary (amended: 2.5 mg))"
    )
    assert esc.step == regimen(chen, 0).escalation.step  # type: ignore[union-attr]  # untouched, source kept
    assert regimen(v, 1).dose == regimen(chen, 1).dose  # the fixed maintenance dose has no start


def test_identity_and_provenance(chen: lenasched.Protocol) -> None:
    v = apply_overrides(chen, ["chen-like:lenalidomide.start=5"], version="9.9")
    assert v.id == "chen-like-variant"
    assert v.title.endswith("[variant: lenalidomide.start=5]")
    assert v.notes is not None and v.notes.startswith("Built for the tests.")
    assert "What-if variant of chen-like" in v.notes and "lenasched 9.9" in v.notes
    assert "lenalidomide (induction) start: 2.5 -> 5" in v.notes
    assert v.outcomes == lenasched.Protocol.model_fields["outcomes"].default_factory()  # type: ignore[misc, call-arg]
    assert [path for path, _ in v.assumptions()] == ["phases.0.drugs.0.escalation.start"]
    assert apply_overrides(chen, ["lenalidomide.start=5"], new_id="chen-fast").id == "chen-fast"


def test_original_is_untouched(chen: lenasched.Protocol) -> None:
    before = chen.model_dump()
    apply_overrides(chen, ["lenalidomide.start=5", "induction.cycles=3"])
    assert chen.model_dump() == before


def test_drug_at_phase(chen: lenasched.Protocol) -> None:
    v = apply_overrides(chen, ["lenalidomide@maintenance.dose=10"])
    assert regimen(v, 1).dose.value == 10  # type: ignore[union-attr]
    v = apply_overrides(chen, ["lenalidomide@maintenance.days=1-28"])
    assert regimen(v, 1).days.value == tuple(range(1, 29))  # type: ignore[union-attr]
    assert regimen(v, 0).days.value == tuple(range(1, 22))  # type: ignore[union-attr]


def test_days_everywhere(chen: lenasched.Protocol) -> None:
    v = apply_overrides(chen, ["lenalidomide.days=1-28"])
    assert all(regimen(v, i).days.value == tuple(range(1, 29)) for i in (0, 1))  # type: ignore[union-attr]
    calendar = lenasched.expand(v, START, cycles=2)
    assert len(calendar.for_drug("lenalidomide")) == 56


def test_timing_switch(chen: lenasched.Protocol) -> None:
    v = apply_overrides(chen, ["lenalidomide.every_days=14"])
    esc = regimen(v, 0).escalation
    assert esc is not None and esc.every_cycles is None and esc.every_days.value == 14  # type: ignore[union-attr]
    doses = {d.study_day: d.dose for d in lenasched.expand(v, START, cycles=1).for_drug("lenalidomide")}
    assert (doses[14], doses[15], doses[21]) == (Decimal("2.5"), 5, 5)


def test_phase_fields(chen: lenasched.Protocol) -> None:
    v = apply_overrides(chen, ["maintenance.cycles=12", "induction.cycle_length_days=35"])
    assert not v.open_ended and v.total_cycles == 18
    assert v.phases[0].cycle_length_days.value == 35
    assert "runs until progression" in (v.phases[1].cycles.assumption or "")  # type: ignore[union-attr]
    v = apply_overrides(chen, ["phases.cycle_length_days=21"])
    assert [p.cycle_length_days.value for p in v.phases] == [21, 21]


def test_dose_levels_and_sequence(chen: lenasched.Protocol) -> None:
    v = apply_overrides(chen, ["lenalidomide@induction.dose_levels=10,7.5,5,2.5,1"])
    assert regimen(v, 0).dose_levels.value[-1] == 1  # type: ignore[union-attr]
    v = apply_overrides(chen, ["lenalidomide@induction.dose_levels=[10, 7.5, 5, 2.5]"])
    assert len(regimen(v, 0).dose_levels.value) == 4  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lenalidomid.start=5", "no drug or phase named 'lenalidomid'; did you mean 'lenalidomide'?"),
        ("aspirin.dose=81", "no drug or phase named 'aspirin'"),
        ("lenalidomide.strat=5", "unknown drug field 'strat'"),
        ("induction.length=21", "unknown phase field 'length'"),
        ("lenalidomide@consolidation.dose=5", "has no phase 'consolidation'"),
        ("lenalidomide@induction.dose=5", "has no dose to set (induction: it escalates; set start, step or cap)"),
        ("allopurinol.start=100", "has no start to set (induction: it has a fixed dose; set dose)"),
        ("lenalidomide.start=five", "start must be a number, not 'five'"),
        ("lenalidomide.every_days=2.5", "every_days must be a whole number"),
        ("lenalidomide.start=20", "makes chen-like invalid at phases.0.drugs.0.escalation.start: start dose 20"),
        ("lenalidomide.step=4", "never land on the cap 10"),
        ("lenalidomide@induction.dose_levels=10,5", "planned dose 2.5 mg is not one of the dose levels"),
        ("lenalidomide.days=1-30", "fall outside cycle"),
        ("lenalidomide.route=rectal", "makes chen-like invalid"),
        ("lenalidomide.start=0", "greater than 0"),
        ("other-2000:lenalidomide.start=5", "aimed at 'other-2000', not at 'chen-like'"),
    ],
)
def test_refusals(chen: lenasched.Protocol, override: str, message: str) -> None:
    with pytest.raises(VariantError) as info:
        apply_overrides(chen, [override])
    assert message in str(info.value)
    assert isinstance(info.value, LenaschedError) and isinstance(info.value, ValueError)


def test_unknown_names_list_the_valid_ones(chen: lenasched.Protocol) -> None:
    with pytest.raises(VariantError) as info:
        apply_overrides(chen, ["aspirin.dose=81"])
    assert info.value.choices == ("lenalidomide", "allopurinol", "induction (phase)", "maintenance (phase)")
    with pytest.raises(VariantError) as info:
        apply_overrides(chen, ["lenalidomide.strat=5"])
    assert "start" in info.value.choices and "dose_levels" in info.value.choices


def test_no_override_and_bad_new_id(chen: lenasched.Protocol) -> None:
    with pytest.raises(VariantError, match="no override"):
        apply_overrides(chen, [])
    with pytest.raises(VariantError, match="lower case"):
        apply_overrides(chen, ["lenalidomide.start=5"], new_id="Chen Fast")


# --- YAML round trip ------------------------------------------------------------------------------


def roundtrip(protocol: lenasched.Protocol, tmp_path: Path) -> lenasched.Protocol:
    path = tmp_path / f"{protocol.id}.yaml"
    path.write_text(protocol_to_yaml(protocol, header=["a header", "two lines"]), encoding="utf-8")
    return lenasched.load_protocol(path)


@pytest.mark.parametrize(
    "overrides",
    [
        ["lenalidomide.start=5"],
        ["lenalidomide.days=1-28", "maintenance.cycles=3"],
        ["lenalidomide.every_days=14", "lenalidomide.first_step_day=8"],
        ["lenalidomide@induction.dose_levels=10,7.5,5,2.5,1.25", "allopurinol.cycles=1-2"],
        ["lenalidomide.route=oral", "induction.cycle_length_days=35"],
    ],
)
def test_yaml_round_trip(chen: lenasched.Protocol, tmp_path: Path, overrides: list[str]) -> None:
    variant = apply_overrides(chen, overrides)
    again = roundtrip(variant, tmp_path)
    assert again == variant
    assert to_csv(lenasched.expand(again, START, cycles=8)) == to_csv(lenasched.expand(variant, START, cycles=8))


def test_yaml_round_trip_of_the_original(chen: lenasched.Protocol, tmp_path: Path) -> None:
    assert roundtrip(chen, tmp_path) == chen


@settings(max_examples=25, deadline=None)
@given(start=st.sampled_from(["2.5", "5", "7.5", "10"]), days=st.integers(min_value=1, max_value=28))
def test_yaml_round_trip_property(
    chen: lenasched.Protocol, tmp_path_factory: pytest.TempPathFactory, start: str, days: int
) -> None:
    variant = apply_overrides(chen, [f"lenalidomide.start={start}", f"lenalidomide.days=1-{days}"])
    assert roundtrip(variant, tmp_path_factory.mktemp("v")) == variant


def test_add_on_regimens_stay_inline(tmp_path: Path) -> None:
    text = CHEN_LIKE.replace(
        "outcomes:", "includes: [{addon: tfr-prednisone-prophylaxis, phase: induction}]\noutcomes:"
    )
    try:
        protocol = lenasched.parse_protocol(text)
    except LenaschedError as exc:  # pragma: no cover - depends on the bundled add-on
        pytest.skip(f"bundled add-on not available: {exc}")
    variant = apply_overrides(protocol, ["lenalidomide.start=5"])
    count = sum(1 for r in variant.phases[0].drugs if r.drug == "prednisone")
    assert count == sum(1 for r in protocol.phases[0].drugs if r.drug == "prednisone") > 0
    assert variant.includes == []
    assert roundtrip(variant, tmp_path) == variant


# --- command line ---------------------------------------------------------------------------------


def test_cli_variant_writes_a_valid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "chen-like.yaml"
    source.write_text(CHEN_LIKE, encoding="utf-8")
    out = tmp_path / "my.yaml"
    argv = ["variant", str(source), "--set", "lenalidomide.start=5", "--id", "chen-fast", "--output", str(out)]
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# chen-fast: what-if variant of chen-like")
    assert "--set=lenalidomide.start=5" in text
    loaded = lenasched.load_protocol(out)
    assert loaded == apply_overrides(
        lenasched.parse_protocol(CHEN_LIKE), ["lenalidomide.start=5"], new_id="chen-fast", version=lenasched.__version__
    )
    assert main(["validate", str(out)]) == 0


def test_cli_variant_to_stdout_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "chen-like.yaml"
    source.write_text(CHEN_LIKE, encoding="utf-8")
    assert main(["variant", str(source), "--set", "maintenance.cycles=2"]) == 0
    assert "id: chen-like-variant" in capsys.readouterr().out
    assert main(["variant", str(source)]) == 1
    assert "give at least one --set" in capsys.readouterr().err
    out = tmp_path / "bad.yaml"
    assert main(["variant", str(source), "--set", "lenalidomide.start=20", "--output", str(out)]) == 1
    assert "start dose 20" in capsys.readouterr().err
    assert not out.exists()


def test_bundled_variant_stays_fully_sourced(tmp_path: Path) -> None:
    if "badoux-2011" not in lenasched.bundled_ids():
        pytest.skip("badoux-2011 is not bundled")
    variant = apply_overrides(lenasched.get_protocol("badoux-2011"), ["lenalidomide.first_step_day=29"])
    assert variant.unsourced() == []
    assert roundtrip(variant, tmp_path) == variant


@pytest.mark.parametrize("protocol_id", lenasched.bundled_ids())
def test_every_bundled_protocol_reads_back(protocol_id: str) -> None:
    protocol = lenasched.get_protocol(protocol_id)
    again = lenasched.parse_protocol(protocol_to_yaml(protocol))
    assert again == protocol.model_copy(update={"includes": []})  # add-on regimens are written inline


def test_start_and_cap_of_a_sequence_escalation_trim_the_sequence() -> None:
    """The issue's own example: `--set chen-2011:lenalidomide.start=5` on Chen's 2.5 -> 5 -> 10 sequence."""
    from lenasched.design.variants import apply_overrides

    chen = lenasched.get_protocol("chen-2011")
    started = apply_overrides(chen, ["lenalidomide.start=5"])
    esc = started.phases[0].drugs[0].escalation
    assert esc is not None and [str(x) for x in esc.levels] == ["5", "10"]
    assert esc.sequence is not None and "what-if variant" in (esc.sequence.assumption or "")
    # a lower cap would leave the 10 mg reduction level above it: refused, naming the field
    with pytest.raises(lenasched.LenaschedError, match="dose level 10 mg is above the cap 5"):
        apply_overrides(chen, ["lenalidomide.cap=5"])
    with pytest.raises(lenasched.LenaschedError, match="at least two doses"):
        apply_overrides(chen, ["lenalidomide.start=10"])

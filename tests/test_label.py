"""The label data file: it validates, every value is cited, and every validation branch refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lenasched.errors import ProtocolError
from lenasched.model.label import label_path, load_label, parse_label
from lenasched.model.registry import protocols_dir
from lenasched.model.sourced import iter_sourced

TEXT = label_path().read_text(encoding="utf-8")


def test_bundled_label_loads_and_lives_beside_the_protocols() -> None:
    label = load_label()
    assert label_path().parent.parent == protocols_dir()
    assert label.drug == "lenalidomide" and label.max_supply_days.value == 28
    assert label.renal.columns == ("mm_mcl", "mds")
    assert label.pregnancy_testing.weekly_for_weeks.value == 4
    assert label.pregnancy_testing.then_every_days.value == 28


def test_every_value_cites_a_reference() -> None:
    label = load_label()
    for path, value in iter_sourced(label):
        assert value.source in label.references, path
        assert value.detail, path


def test_label_is_not_a_protocol_for_the_registry() -> None:
    from lenasched.model.registry import bundled_ids

    assert "lenalidomide" not in bundled_ids()


def test_load_label_from_a_path(tmp_path: Path) -> None:
    file = tmp_path / "label.yaml"
    file.write_text(TEXT, encoding="utf-8")
    assert load_label(file) == load_label()
    with pytest.raises(ProtocolError, match="cannot read"):
        load_label(tmp_path / "missing.yaml")


def _broken(change: str, new: str) -> str:
    assert change in TEXT
    return TEXT.replace(change, new, 1)


@pytest.mark.parametrize(
    ("change", "new", "message"),
    [
        ("max_supply_days:", "max_supply_dayz:", "unknown field 'max_supply_dayz'"),
        ("value: [2.5, 5, 10, 15, 20, 25]", "value: [5, 2.5, 10, 15, 20, 25]", "smallest first"),
        ("value: [2.5, 5, 10, 15, 20, 25]", "value: []", "no strength"),
        ("  source: rems-fda\n", "  source: rems-fdaa\n", "not a key of `references`"),
        ("      crcl_min: 30\n", "      crcl_min: 20\n", "overlap"),
        ("      crcl_min: 30\n", "      crcl_min: 70\n", "not below crcl_max"),
        ("interval_hours: {value: 24, source: uspi-dosage-summary", "interval_hours: {value: 12, source: x", "24"),
        ('      source: uspi-older\n      detail: "Non', '      source: nowhere\n      detail: "Non', "nowhere"),
        ("days_before_earliest: {value: 14,", "days_before_earliest: {value: 5,", "closer to the prescription"),
        ("max_supply_days:\n  value: 28\n  source: rems-fda\n", "max_supply_days:\n  value: 28\n", "needs a source"),
    ],
)
def test_validation_branches_refuse(change: str, new: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse_label(_broken(change, new), "label.yaml")


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(ProtocolError, match="not valid YAML"):
        parse_label("a: [1, 2", "x.yaml")
    with pytest.raises(ProtocolError, match="mapping"):
        parse_label("- 1\n", "x.yaml")
    with pytest.raises(ProtocolError):
        parse_label("!!python/object:os.system {}\n", "x.yaml")


def test_decimals_are_exact() -> None:
    data = yaml.safe_load(TEXT)
    assert data["capsule_strengths_mg"]["value"][0] == 2.5  # what a plain reader gets: a float
    assert str(load_label().strengths[0]) == "2.5"  # what lenasched keeps: the exact decimal

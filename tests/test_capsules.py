"""Capsule choice: one exact capsule; several only when asked (and flagged); never split; else refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lenasched.engine.capsules import MAX_CAPSULES_PER_DOSE, CapsulePick, choose_capsules, count_word
from lenasched.errors import CapsuleError, LenaschedError, ScheduleError
from lenasched.model.label import load_label

STRENGTHS = load_label().strengths
D = Decimal


def test_label_strengths_are_the_six_capsules() -> None:
    assert [str(s) for s in STRENGTHS] == ["2.5", "5", "10", "15", "20", "25"]


@pytest.mark.parametrize("strength", STRENGTHS)
def test_every_strength_is_one_capsule_without_any_option(strength: Decimal) -> None:
    pick = choose_capsules(strength)
    assert pick.capsules == ((strength, 1),) and pick.count == 1 and not pick.multiple
    assert pick.describe() == f"1 × {strength} mg capsule"


def test_seven_and_a_half_mg_is_refused_without_the_option() -> None:
    with pytest.raises(CapsuleError) as info:
        choose_capsules(D("7.5"))
    message = str(info.value)
    assert "no single lenalidomide capsule is 7.5 mg" in message
    assert "1 × 5 mg + 1 × 2.5 mg" in message and "--allow-multiple-capsules" in message
    assert info.value.dose_mg == D("7.5") and D("2.5") in info.value.strengths
    assert isinstance(info.value, ScheduleError) and isinstance(info.value, ValueError)
    assert isinstance(info.value, LenaschedError)


def test_seven_and_a_half_mg_with_the_option_is_two_capsules_and_flagged() -> None:
    pick = choose_capsules(D("7.5"), allow_multiple=True)
    assert pick.capsules == ((D("5"), 1), (D("2.5"), 1))
    assert pick.multiple and pick.count == 2
    assert pick.describe() == "1 × 5 mg + 1 × 2.5 mg capsules"


def test_fewest_capsules_then_one_strength() -> None:
    assert choose_capsules(D("30"), allow_multiple=True).capsules == ((D("15"), 2),)
    assert choose_capsules(D("12.5"), allow_multiple=True).capsules == ((D("10"), 1), (D("2.5"), 1))
    assert choose_capsules(D("50"), allow_multiple=True).capsules == ((D("25"), 2),)


@pytest.mark.parametrize("dose", ["3", "1", "0.5", "101"])
def test_doses_no_whole_capsules_make_are_refused_even_with_the_option(dose: str) -> None:
    with pytest.raises(CapsuleError, match="never split"):
        choose_capsules(D(dose), allow_multiple=True)


@pytest.mark.parametrize("dose", ["0", "-5", "NaN"])
def test_non_positive_doses_are_refused(dose: str) -> None:
    with pytest.raises(CapsuleError, match="positive"):
        choose_capsules(D(dose))


def test_other_strength_lists() -> None:
    pick = choose_capsules(D("6"), allow_multiple=True, strengths=[D("2"), D("4")], drug="x")
    assert pick.capsules == ((D("4"), 1), (D("2"), 1))
    with pytest.raises(CapsuleError, match="no x capsule makes 5 mg"):
        choose_capsules(D("5"), strengths=[D("2"), D("4")], drug="x")


def test_count_words() -> None:
    assert [count_word(n) for n in (1, 2, 10, 11)] == ["one", "two", "ten", "11"]


@given(st.lists(st.sampled_from(STRENGTHS), min_size=1, max_size=MAX_CAPSULES_PER_DOSE))
def test_any_whole_capsule_total_is_made_exactly_with_no_more_capsules(capsules: list[Decimal]) -> None:
    dose = sum(capsules, D(0))
    pick = choose_capsules(dose, allow_multiple=True)
    assert isinstance(pick, CapsulePick)
    assert sum((s * n for s, n in pick.capsules), D(0)) == dose
    assert pick.count <= len(capsules)
    assert all(s in STRENGTHS for s in pick.strengths)
    assert pick.multiple == (dose not in STRENGTHS)

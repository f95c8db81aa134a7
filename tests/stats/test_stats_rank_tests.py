"""Signed-rank and rank-sum tests against R's wilcox.test (tests/reference/*.wilcoxon / *.mannwhitney)."""

from __future__ import annotations

import numpy as np
import pytest

from assets.marts.stats import mann_whitney, mann_whitney_r, rank_sum, signed_rank, wilcoxon_paired, wilcoxon_paired_r
from tests.stats.conftest import load_reference, reference_names

R_VARIANTS = {
    "default": {},
    "exact_true": {"exact": True},
    "exact_false_correct_true": {"exact": False},
    "exact_false_correct_false": {"exact": False, "correct": False},
}


def paired(name):
    answer, data = load_reference(name)
    return answer, data["pre"].to_list(), data["post"].to_list()


def two_groups(name):
    answer, data = load_reference(name)
    x = data.filter(data["group"] == answer["x_group"])["value"].to_list()
    y = data.filter(data["group"] == answer["y_group"])["value"].to_list()
    return answer, x, y


@pytest.mark.parametrize("name", reference_names("wilcoxon"))
def test_signed_rank_rule_is_the_exact_conditional_test(name):
    answer, pre, post = paired(name)
    exact = answer["exact_conditional_zeros_dropped"]
    result = wilcoxon_paired(pre, post)
    assert result.statistic == answer["V_post_minus_pre"]
    assert result.p_value == pytest.approx(exact["p_two_sided_central"], abs=1e-6)
    assert wilcoxon_paired(pre, post, "less").p_value == pytest.approx(exact["p_less"], abs=1e-6)
    assert wilcoxon_paired(pre, post, "greater").p_value == pytest.approx(exact["p_greater"], abs=1e-6)
    assert result.extras == {
        "n_nonzero": answer["n_nonzero"],
        "n_zero_diff": answer["n_zero_diff"],
        "has_ties": answer["has_ties"],
        "exact": True,
    }
    assert result.n == answer["n_pairs"]


@pytest.mark.parametrize("variant", R_VARIANTS)
@pytest.mark.parametrize("name", reference_names("wilcoxon"))
def test_signed_rank_r_variants(name, variant):
    answer, pre, post = paired(name)
    expected = answer["variants"][variant]
    result = wilcoxon_paired_r(pre, post, **R_VARIANTS[variant])
    assert result.statistic == expected["V"]
    assert result.p_value == pytest.approx(expected["p"], abs=1e-6, rel=1e-6)
    assert result.method == expected["method"]


@pytest.mark.parametrize("name", reference_names("wilcoxon"))
def test_signed_rank_rule_falls_back_to_r_corrected_normal(name, monkeypatch):
    answer, pre, post = paired(name)
    monkeypatch.setattr(signed_rank, "EXACT_MAX_PAIRS", 0)
    result = wilcoxon_paired(pre, post)
    assert not result.extras["exact"]
    assert result.p_value == pytest.approx(answer["variants"]["exact_false_correct_true"]["p"], rel=1e-6)


@pytest.mark.parametrize("name", reference_names("mannwhitney"))
def test_rank_sum_rule_is_the_exact_conditional_test(name):
    answer, x, y = two_groups(name)
    exact = answer["exact_conditional"]
    result = mann_whitney(x, y)
    assert result.statistic == answer["U_x"]
    assert result.p_value == pytest.approx(exact["p_two_sided_central"], abs=1e-6)
    assert mann_whitney(x, y, "less").p_value == pytest.approx(exact["p_less"], abs=1e-6)
    assert mann_whitney(x, y, "greater").p_value == pytest.approx(exact["p_greater"], abs=1e-6)
    # swapping the groups mirrors the statistic and the one-sided tails, not the two-sided P
    swapped = mann_whitney(y, x)
    assert swapped.statistic == answer["U_y"]
    assert swapped.p_value == pytest.approx(result.p_value, abs=1e-12)
    assert mann_whitney(y, x, "greater").p_value == pytest.approx(exact["p_less"], abs=1e-6)
    expected_extras = {key: answer[key] for key in ("n_x", "n_y", "has_ties")}
    assert result.extras == expected_extras | {"exact": True}


@pytest.mark.parametrize("variant", R_VARIANTS)
@pytest.mark.parametrize("name", reference_names("mannwhitney"))
def test_rank_sum_r_variants(name, variant):
    answer, x, y = two_groups(name)
    expected = answer["variants"][variant]
    result = mann_whitney_r(x, y, **R_VARIANTS[variant])
    assert result.statistic == expected["W"]
    assert result.p_value == pytest.approx(expected["p"], abs=1e-6, rel=1e-6)
    assert result.method == expected["method"]


@pytest.mark.parametrize("name", reference_names("mannwhitney"))
def test_rank_sum_rule_falls_back_to_r_corrected_normal(name, monkeypatch):
    answer, x, y = two_groups(name)
    monkeypatch.setattr(rank_sum, "EXACT_MAX_SMALLER", 0)
    result = mann_whitney(x, y)
    assert not result.extras["exact"]
    assert result.p_value == pytest.approx(answer["variants"]["exact_false_correct_true"]["p"], rel=1e-6)


@pytest.mark.parametrize("name", ["scores_paired_ties.wilcoxon.json", "paired_n20_ties.wilcoxon.json"])
def test_rule_and_r_default_differ_with_ties_and_zeros(name):
    """The reason for a rule: R gives up exactness with ties, Prism (and we) do not."""
    _, pre, post = paired(name)
    assert wilcoxon_paired(pre, post).p_value < 0.6 * wilcoxon_paired_r(pre, post).p_value


def test_float_noise_does_not_break_ties():
    # 0.3 - 0.1 and 0.5 - 0.3 differ in binary floating point, but are the same change of 0.2
    result = wilcoxon_paired([0.1, 0.3, 1.0], [0.3, 0.5, 2.0])
    assert result.extras["has_ties"]
    assert result.statistic == 6


def test_large_samples_use_the_normal_approximation():
    rng = np.random.default_rng(7)
    pre = rng.normal(size=250)
    assert not wilcoxon_paired(pre, pre + rng.normal(0.1, 1, size=250)).extras["exact"]
    assert not mann_whitney(rng.normal(size=120), rng.normal(size=130)).extras["exact"]
    assert mann_whitney(rng.normal(size=6), rng.normal(size=119)).extras["exact"]


def test_all_zero_differences_give_no_p():
    """R: NaN (test_stats_undefined.py has R's answer); never a P of 1 that reads as "no difference"."""
    result = wilcoxon_paired([1.0, 2.0], [1.0, 2.0])
    assert (result.p_value, result.extras["n_zero_diff"], result.extras["defined"]) == (None, 2, False)


def test_missing_values_are_refused():
    with pytest.raises(ValueError, match="missing"):
        wilcoxon_paired([1.0, float("nan")], [2.0, 3.0])
    with pytest.raises(ValueError, match="missing"):
        mann_whitney([1.0, None], [2.0, 3.0])

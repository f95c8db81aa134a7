"""The demo cohort's labs reproduce the paper's published lab numbers, recomputed here from the output frame.

Expectations come from the published-results seed; pairs are matched by mrn; "post" is the cycle-1 sample at the
end of the infusion (day14 for a 14-day cycle, the last of day21/day28 inside a longer one).
"""

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.stats import mannwhitneyu, wilcoxon

from demo_cohort.cohort import build_cohort
from demo_cohort.labs_cbc import blood_counts
from demo_cohort.labs_counts import calibrate_counts
from demo_cohort.labs_layout import subset_layout

SEED = 20250301  # build_cohort's default: the seed of the delivered demo extracts
OTHER_SEEDS = (20240611, 7)
SEEDS_CSV = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "published_results.csv"
ANALYTES = {"wbc", "neutrophils", "lymphocytes", "platelets", "hemoglobin", "cd3_abs", "cd4_abs", "cd8_abs", "nk_abs",
            "cd19_abs", "cd3_pct", "cd4_pct", "cd8_pct", "nk_pct", "cd19_pct", "igg", "iga", "igm", "il1b", "il2",
            "il4", "il5", "il6", "il8", "il10", "il12p70", "il17", "ifng", "tnfa", "ifna", "csf_wbc", "csf_albumin"}


@pytest.fixture(scope="module")
def cohort():
    return build_cohort(SEED)


@pytest.fixture(scope="module")
def inputs(cohort):
    return cohort.design, cohort.design_cycles


@pytest.fixture(scope="module")
def labs(cohort):
    return cohort.labs


@pytest.fixture(scope="module")
def pub() -> pl.DataFrame:
    return pl.read_csv(SEEDS_CSV, infer_schema=False).with_columns(pl.col("group").fill_null(""))


def rows(pub: pl.DataFrame, prefix: str) -> list[dict]:
    return pub.filter(pl.col("id").str.starts_with(prefix)).to_dicts()


def assert_matches(actual: float, value: str, match: str, what: str):
    decimals = int(match.removeprefix("dp"))
    assert round(actual + 1e-12, decimals) == pytest.approx(float(value)), f"{what}: {actual} vs {value} ({match})"


def assert_p_side(p_values: list[float], published: str, what: str):
    for p in p_values:
        if published.startswith("<"):
            assert p < float(published[1:]), f"{what}: P {p} vs {published}"
        elif published.startswith(">=") or float(published) >= 0.05:
            assert p >= 0.05, f"{what}: P {p} vs {published}"
        else:
            assert p < 0.05, f"{what}: P {p} vs {published}"


def paired_p(pre: np.ndarray, post: np.ndarray) -> list[float]:
    """scipy's default and R's default with ties (normal approximation, continuity correction)."""
    return [wilcoxon(pre, post).pvalue, wilcoxon(pre, post, method="asymptotic", correction=True).pvalue]


def two_sample_p(a: np.ndarray, b: np.ndarray) -> list[float]:
    return [mannwhitneyu(a, b).pvalue, mannwhitneyu(a, b, method="asymptotic", use_continuity=True).pvalue]


def stat(values: np.ndarray, name: str) -> float:
    return {"median": np.median, "min": np.min, "max": np.max}[name.split("_")[-1]](values)


# --- frames the published tables are computed from ----------------------------------------------------------

def wide(labs: pl.DataFrame, *filters) -> pl.DataFrame:
    """One row per (mrn, cycle, timepoint, specimen), one column per analyte."""
    return (labs.filter(*filters).pivot(on="analyte", index=["mrn", "cycle_no", "timepoint", "specimen"],
                                        values="value"))


def pre_post(labs: pl.DataFrame, inputs, specimen: str, post_label="post") -> pl.DataFrame:
    """Cycle-1 baseline vs end-of-infusion sample per patient, with design columns; `pre_<a>`, `post_<a>`."""
    design, cycles = inputs
    first = cycles.filter(pl.col("cycle_no") == 1).select("mrn", "infusion_days")
    w = wide(labs, pl.col("cycle_no") == 1, pl.col("specimen") == specimen).join(first, on="mrn")
    w = w.join(design.select("mrn", "regimen_c1", "cycle1_status", "response_c1"), on="mrn")
    end = (pl.when(pl.col("regimen_c1") == "14d").then(pl.lit("day14"))
           .when(pl.col("infusion_days") >= 28).then(pl.lit("day28")).otherwise(pl.lit("day21")))
    analytes = [c for c in w.columns if c not in {"mrn", "cycle_no", "timepoint", "specimen", "infusion_days",
                                                  "regimen_c1", "cycle1_status", "response_c1"}]
    pre = w.filter(pl.col("timepoint") == "baseline").select("mrn", *[pl.col(a).alias(f"pre_{a}") for a in analytes])
    post = w.filter(pl.col("timepoint") == end).select(
        "mrn", "regimen_c1", "cycle1_status", "response_c1", *[pl.col(a).alias(f"{post_label}_{a}") for a in analytes])
    return pre.join(post, on="mrn").sort("mrn")


def add_derived(df: pl.DataFrame) -> pl.DataFrame:
    """The paper's derived names; the CD4/CD8 ratio is taken from the percentages of one sample."""
    out = df
    for side in ("pre", "post"):
        out = out.with_columns((pl.col(f"{side}_cd4_pct") / pl.col(f"{side}_cd8_pct")).alias(f"{side}_cd4_cd8_ratio"),
                               pl.col(f"{side}_cd19_abs").alias(f"{side}_b_abs"),
                               pl.col(f"{side}_cd19_pct").alias(f"{side}_b_pct"))
    return out


# --- tests ------------------------------------------------------------------------------------------------------

def test_schema_and_vocabulary(labs):
    assert labs.columns == ["mrn", "center_id", "cycle_no", "timepoint", "sample_date", "specimen", "analyte", "value",
                            "marker", "unit"]
    assert labs.schema["cycle_no"] == pl.Int64 and labs.schema["value"] == pl.Float64
    assert labs.schema["sample_date"] == pl.Date
    assert set(labs["analyte"]) <= ANALYTES
    assert set(labs["timepoint"]) <= {"baseline", "day14", "day21", "day28", "crs_onset", "icans_onset"}
    assert set(labs["specimen"]) == {"blood", "serum", "csf"}
    assert set(labs["marker"].drop_nulls()) == {"<"}
    assert labs.null_count().select(pl.exclude("marker")).sum_horizontal().item() == 0
    assert labs.select("mrn", "cycle_no", "timepoint", "specimen", "analyte").is_duplicated().sum() == 0


def test_deterministic_for_a_seed(inputs):
    """The parts without the percentage search (a second full build would double this module's time)."""
    design, cycles = inputs

    def counts() -> list:
        rng = np.random.default_rng([SEED, 0])  # build_labs' stream for the subsets
        return [v.tobytes() for pair in calibrate_counts(subset_layout(design, rng), rng).values() for v in pair]

    assert counts() == counts()
    lymphocytes = {}
    assert (blood_counts(cycles, np.random.default_rng(1), lymphocytes)
            == blood_counts(cycles, np.random.default_rng(1), lymphocytes))


@pytest.mark.slow  # a whole cohort per seed, ~18 s each
@pytest.mark.parametrize("seed", OTHER_SEEDS)
def test_other_seeds_build_table2(seed, pub):
    cohort = build_cohort(seed)
    check_table2(cohort.labs, cohort.design, pub)


def test_table2_baseline_by_response(labs, inputs, pub):
    check_table2(labs, inputs[0], pub)


def check_table2(labs: pl.DataFrame, design: pl.DataFrame, pub: pl.DataFrame):
    b = (wide(labs, pl.col("cycle_no") == 1, pl.col("timepoint") == "baseline", pl.col("specimen") == "blood")
         .join(design.select("mrn", "cycle1_status", "response_c1"), on="mrn")
         .filter(pl.col("cycle1_status") != "cr_mrdneg", pl.col("cd3_abs").is_not_null()))
    assert b.group_by("response_c1").len().sort("response_c1").rows() == [("cr", 42), ("nr", 9)]
    for r in rows(pub, "table2."):
        analyte = r["id"].split(".")[1].replace("lymphocytes_abs", "lymphocytes")
        if analyte not in b.columns:
            continue
        if r["statistic"] == "p_value":
            groups = [b.filter(pl.col("response_c1") == g)[analyte].to_numpy() for g in ("cr", "nr")]
            assert_p_side(two_sample_p(*groups), r["value"], r["id"])
        else:
            v = b.filter(pl.col("response_c1") == r["group"])[analyte].to_numpy()
            assert_matches(stat(v, r["statistic"]), r["value"], r["match"], f"{r['id']} {r['group']} {r['statistic']}")


PERCENTAGES = ("b_pct", "cd3_pct", "cd4_pct", "cd8_pct", "cd4_cd8_ratio")


def check_pre_post(df: pl.DataFrame, targets: list[dict]) -> int:
    """Published pre/post medians, ranges and Wilcoxon sides of `targets` over the pairs of `df`."""
    for r in targets:
        name = r["id"].split(".", 1)[1]
        pair = (f"pre_{name}", f"post_{name}")
        pre, post = (df.drop_nulls(list(pair))[c].to_numpy() for c in pair)
        assert len(pre) >= 8, r["id"]
        if r["statistic"] == "p_value":
            assert_p_side(paired_p(pre, post), r["value"], r["id"])
        else:
            side = pre if r["statistic"].startswith("pre") else post
            assert_matches(stat(side, r["statistic"]), r["value"], r["match"], f"{r['id']} {r['statistic']}")
    return len(targets)


def subset_pairs(labs, inputs, keep: str | None) -> pl.DataFrame:
    pairs = add_derived(pre_post(labs, inputs, "blood"))
    return pairs.filter(pl.col("regimen_c1") == keep) if keep else pairs


@pytest.mark.parametrize("prefix, keep", [("immune.", None), ("immune_14d.", "14d"), ("immune_21_28d.", "21_28d")])
def test_pre_post_absolute_counts(labs, inputs, pub, prefix, keep):
    targets = [r for r in rows(pub, prefix) if r["id"].split(".")[1] not in PERCENTAGES and "_g_l" not in r["id"]]
    assert check_pre_post(subset_pairs(labs, inputs, keep), targets)


def test_pre_post_percentages_and_ratio(labs, inputs, pub):
    targets = [r for r in rows(pub, "immune.") if r["id"].split(".")[1] in PERCENTAGES]
    assert check_pre_post(subset_pairs(labs, inputs, None), targets)


def test_immunoglobulins(labs, inputs, pub):
    igs = pre_post(labs, inputs, "serum").rename(lambda c: c + "_g_l" if c[-3:] in ("igg", "iga", "igm") else c)
    assert check_pre_post(igs, [r for r in rows(pub, "immune.ig")]) == 21


def test_change_from_baseline_by_status(labs, inputs, pub):
    pairs = add_derived(pre_post(labs, inputs, "blood")).with_columns(
        group=pl.when(pl.col("cycle1_status") == "cr_mrdneg").then(pl.lit("mrdneg")).otherwise(pl.lit("rr_mrdpos")))
    for r in rows(pub, "immune_delta."):
        name = r["id"].split(".")[1]
        delta = pairs.select("group", d=pl.col(f"post_{name}") - pl.col(f"pre_{name}")).drop_nulls()
        if r["statistic"] == "p_value":
            groups = [delta.filter(pl.col("group") == g)["d"].to_numpy().round(9) for g in ("rr_mrdpos", "mrdneg")]
            assert_p_side(two_sample_p(*groups), r["value"], r["id"])
        else:
            v = delta.filter(pl.col("group") == r["group"])["d"].to_numpy()
            assert_matches(stat(v, r["statistic"]), r["value"], r["match"], f"{r['id']} {r['group']} {r['statistic']}")


def test_cytokines_before_and_at_crs_onset(labs, pub):
    serum = wide(labs, pl.col("cycle_no") == 1, pl.col("specimen") == "serum")
    pre = serum.filter(pl.col("timepoint") == "baseline")
    onset = serum.filter(pl.col("timepoint") == "crs_onset")
    pairs = pre.join(onset, on="mrn", suffix="_onset")
    assert pairs.height >= 20
    for r in rows(pub, "cytokine."):
        name = r["id"].split(".")[1]
        before, at = pairs[name].to_numpy(), pairs[f"{name}_onset"].to_numpy()
        if r["statistic"] == "p_value":
            assert_p_side(paired_p(before, at), r["value"], r["id"])
        else:
            side = before if r["statistic"].startswith("pre") else at
            assert_matches(stat(side, r["statistic"]), r["value"], r["match"], f"{r['id']} {r['statistic']}")


def test_cytokine_floors_carry_the_marker(labs):
    cyto = labs.filter(pl.col("unit") == "pg/mL")
    floors = {"sch": 2.44, "scmc": 2.44, "ach": 0.32, "sph": 0.32}
    cyto = cyto.with_columns(floor=pl.col("center_id").replace_strict(floors))
    assert (cyto["value"] >= cyto["floor"]).all()
    assert ((cyto["value"] == cyto["floor"]) == (cyto["marker"] == "<").fill_null(False)).all()


def test_table4_icans_cases(labs, inputs, pub):
    design, cycles = inputs
    cases = dict(design.filter(pl.col("icans_case").is_not_null()).select("icans_case", "mrn").iter_rows())
    assert sorted(cases) == [1, 2, 3, 4]
    where = {"serum_pre": ("baseline", "serum"), "serum_onset": ("icans_onset", "serum"),
             "csf_onset": ("icans_onset", "csf")}
    for r in rows(pub, "table4."):
        _, case, analyte = r["id"].split(".")
        tp, specimen = where[r["statistic"]]
        got = labs.filter(pl.col("mrn") == cases[int(case[4:])], pl.col("timepoint") == tp,
                          pl.col("specimen") == specimen, pl.col("analyte") == analyte)
        assert got.height == 1, r["id"]
        assert_matches(got["value"][0], r["value"], r["match"], f"{r['id']} {r['statistic']}")
    csf = labs.filter(pl.col("specimen") == "csf")
    assert csf.filter(pl.col("mrn") == cases[2]).height == 0
    wbc, albumin = (csf.filter(pl.col("analyte") == a)["value"] for a in ("csf_wbc", "csf_albumin"))
    assert (wbc.min(), wbc.max(), albumin.min(), albumin.max()) == (0, 40, 300, 783)


def ctcae(value: float, cuts: list[float]) -> int:
    """Grade from CTCAE cut-offs [LLN, G2, G3, G4 upper limits]."""
    return sum(value < c for c in cuts)


def test_cbc_nadir_agrees_with_grades_but_a_few(labs, inputs):
    _, cycles = inputs
    cbc = wide(labs, pl.col("specimen") == "blood", pl.col("timepoint") != "crs_onset")
    on_treatment = (pl.col("timepoint") != "baseline") & (pl.col("neutrophils").is_not_null()
                                                          | pl.col("platelets").is_not_null())
    nadir = cbc.group_by("mrn", "cycle_no").agg(pl.col("neutrophils").min(), pl.col("platelets").min(),
                                                 on_treatment=on_treatment.sum())
    joined = cycles.join(nadir, on=["mrn", "cycle_no"], how="left")
    assert joined["on_treatment"].null_count() == 0  # every cycle has at least its baseline count
    mismatches = 0
    for term, analyte, cuts in [("neutropenia_grade", "neutrophils", [2.0, 1.5, 1.0, 0.5]),
                                ("thrombocytopenia_grade", "platelets", [150, 75, 50, 25])]:
        graded = joined.filter(pl.col(term).is_not_null())
        mismatches += sum(ctcae(v, cuts) != g for v, g in graded.select(analyte, term).iter_rows())
    assert 3 <= mismatches <= 6
    ungraded = joined.filter(pl.col("neutropenia_grade").is_null() & pl.col("thrombocytopenia_grade").is_null())
    assert ungraded.height and (ungraded["on_treatment"] == 0).all()


def test_physiologically_plausible(labs):
    assert (labs["value"] >= 0).all()
    blood = wide(labs, pl.col("specimen") == "blood").drop_nulls(["cd3_pct"])
    for c in ("cd3_pct", "cd4_pct", "cd8_pct", "nk_pct", "cd19_pct"):
        assert blood[c].is_between(0, 100).all()
    assert (blood["cd3_pct"] + blood["cd19_pct"] + blood["nk_pct"] <= 100).all()
    assert (blood["cd4_pct"] + blood["cd8_pct"] <= blood["cd3_pct"] + 3).all()
    # absolute counts are calibrated apart from the percentages (the lead's decision): only bounded here
    assert blood.select(pl.col("^.*_abs$").max()).max_horizontal().item() < 10

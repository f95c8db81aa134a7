"""Immune marts: T-cell expansion and B-cell depletion under blinatumomab (Figures 1-2, Supplementary Tables
S1-S2) and immunoglobulins, from cycle 1's draws of core.labs (assets/marts/immune_samples.py decides which
draws: baseline = pre, the last scheduled draw inside the infusion = end of treatment).

* `marts.immune_paired`: each lymphocyte marker before vs after, in three subgroups: `all` (baseline vs end of
  treatment), `regimen_14d` (14-day cycles: baseline vs day 14), `regimen_21_28d` (longer cycles: baseline vs
  day 21 / 28); Wilcoxon matched pairs.
* `marts.immune_group_deltas`: change from baseline to the end of treatment, R/R + CR-MRDpos vs CR-MRDneg at
  cycle 1 (Table 1's columns), neutrophils and platelets included; Mann-Whitney U.
* `marts.immunoglobulins`: IgG, IgA, IgM before vs after; Wilcoxon matched pairs.
"""

from __future__ import annotations

from typing import NamedTuple

import dagster as dg
import polars as pl

from assets.marts import shared
from assets.marts.first_cycle import TABLE1_GROUPS, table1_group
from assets.marts.immune_plots import change_figure, timepoint_figure
from assets.marts.immune_samples import END, PRE, RATIO, complete, marker_draws, side
from assets.marts.paired_summary import changes, paired_comparison, published_rows
from assets.marts.stats import mann_whitney, median_range, paired_frame
from orchestration.resources import WarehouseResource

# marker (the reference id's name) -> core.labs analyte (blood), in the order of Figure 1's panels A-L;
# RATIO is derived per draw.
MARKERS = {
    "cd3_abs": "cd3_abs", "cd4_abs": "cd4_abs", "cd8_abs": "cd8_abs", "cd3_pct": "cd3_pct", "cd4_pct": "cd4_pct",
    "cd8_pct": "cd8_pct", "nk_abs": "nk_abs", "b_abs": "cd19_abs", "cd4_cd8_ratio": RATIO, "nk_pct": "nk_pct",
    "b_pct": "cd19_pct", "lymphocytes_abs": "lymphocytes",
}
BLOOD_COUNTS = {"neutrophils": "neutrophils", "platelets": "platelets"}  # compared between groups only
IMMUNOGLOBULINS = {"igg_g_l": "igg", "iga_g_l": "iga", "igm_g_l": "igm"}  # serum, g/L
# subgroup (the reference's group) -> (reference id prefix, cycle-1 regimen it keeps; None: every regimen).
# The end of treatment is day 14 of a 14-day cycle, day 21 / 28 of a longer one.
SUBGROUPS = {"all": ("immune", None), "regimen_14d": ("immune_14d", "14d"),
             "regimen_21_28d": ("immune_21_28d", "21_28d")}
IG_SUBGROUPS = {"all": SUBGROUPS["all"]}
DELTA_GROUPS = tuple(TABLE1_GROUPS)  # rr_mrdpos, mrdneg

SUMMARY = ("median", "min", "max")
PAIRED_SCHEMA = {
    "subgroup": pl.Utf8, "marker": pl.Utf8, "n_pairs": pl.Int64, "n_missing_pre": pl.Int64, "n_missing_post": pl.Int64,
    **{f"{side}_{s}": pl.Float64 for side in ("pre", "post", "change") for s in SUMMARY},
    "statistic": pl.Float64, "p_value": pl.Float64, "test_id": pl.Utf8,
}
PAIRED_COLUMNS = {
    "subgroup": "Patients compared, cycle-1 baseline vs end of treatment: all, regimen_14d (14-day cycles: vs day "
                "14), regimen_21_28d (21-28-day cycles: vs day 21 / 28).",
    "marker": "cd3/cd4/cd8/nk/b (CD19+) _abs (x10^9/L) or _pct (% of lymphocytes), lymphocytes_abs (x10^9/L), "
              "cd4_cd8_ratio; for immunoglobulins igg_g_l, iga_g_l, igm_g_l (g/L).",
    "n_pairs": "Patients with both values (the test's pairs).",
    "n_missing_pre": "Patients with the after value but no baseline (not used).",
    "n_missing_post": "Patients with the baseline but no after value (not used).",
    **{f"{side}_{s}": f"{s.capitalize()} {what} over the pairs."
       for side, what in (("pre", "before"), ("post", "after"), ("change", "of after - before")) for s in SUMMARY},
    "statistic": "Wilcoxon V (sum of the ranks of positive changes, R's convention).",
    "p_value": "Wilcoxon matched-pairs P (docs/statistics.md: exact below 200 non-zero pairs, zeros dropped).",
    "test_id": "Key in marts.statistical_tests, <subgroup prefix>.<marker> (immune., immune_14d., immune_21_28d.): "
               "the published id where the paper gives the P; no test row without a pair.",
}
DELTAS_SCHEMA = {
    "marker": pl.Utf8, "group": pl.Utf8, "n": pl.Int64, "n_missing_pre": pl.Int64, "n_missing_post": pl.Int64,
    "median": pl.Float64, "min": pl.Float64, "max": pl.Float64, "p_value": pl.Float64, "test_id": pl.Utf8,
}
DELTAS_COLUMNS = {
    "marker": "A marker of marts.immune_paired, or neutrophils / platelets (x10^9/L).",
    "group": "Status at cycle 1: rr_mrdpos (R/R or CR-MRDpos) or mrdneg (CR-MRDneg).",
    "n": "Patients of the group with a change (both values known).",
    "n_missing_pre": "Patients of the group with the end value but no baseline.",
    "n_missing_post": "Patients of the group with the baseline but no end-of-treatment value.",
    "median": "Median change, end of treatment - baseline.",
    "min": "Smallest change.",
    "max": "Largest change.",
    "p_value": "Mann-Whitney U P, rr_mrdpos vs mrdneg (the same on both rows of a marker).",
    "test_id": "Key in marts.statistical_tests: immune_delta.<marker> (no test row unless both groups have a change).",
}
PAIRED_DESCRIPTION = (
    "Lymphocyte subsets before and after blinatumomab (cycle 1; Figure 1, Supplementary Table S1): per subgroup "
    "and marker the pairs, median (range) before, after and of the change, and the Wilcoxon matched-pairs test; "
    "patients missing one side are counted. Tests in marts.statistical_tests (mart immune_paired)."
)
DELTAS_DESCRIPTION = (
    "Change from baseline to the end of cycle 1 compared between R/R + CR-MRDpos and CR-MRDneg patients at "
    "cycle 1 (Figure 2, Supplementary Table S2): median (range) per group and the Mann-Whitney U test."
)
IG_DESCRIPTION = (
    "Serum IgG, IgA and IgM (g/L) before and at the end of cycle 1: median (range) and the Wilcoxon "
    "matched-pairs test (mart immunoglobulins)."
)


def _in_regimen(draws: pl.DataFrame, cycles: pl.DataFrame, regimen: str | None) -> pl.DataFrame:
    if regimen is None:
        return draws
    kept = cycles.filter((pl.col("cycle_no") == 1) & (pl.col("regimen") == regimen))["subject_id"].implode()
    return draws.filter(pl.col("subject_id").is_in(kept))


def paired_table(draws: pl.DataFrame, cycles: pl.DataFrame, mart: str,
                 subgroups: dict[str, tuple[str, str | None]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """PAIRED_SCHEMA rows for every subgroup and marker of `draws` (marker_draws), and their tests
    (marts.statistical_tests rows of `mart`, test_id <subgroup's prefix>.<marker>; none without a pair)."""
    rows, tests = [], []
    markers = sorted(draws["marker"].unique())
    for subgroup, (prefix, regimen) in subgroups.items():
        kept = _in_regimen(draws, cycles, regimen)
        for marker in markers:
            row, result = paired_comparison(side(kept, marker, PRE), side(kept, marker, END))
            test_id = f"{prefix}.{marker}"
            if result is not None:
                tests.append(shared.test_row(test_id, mart, f"{marker}: cycle-1 baseline vs end of treatment "
                                             f"({subgroup})", ("pre", "post"), result))
            rows.append({"subgroup": subgroup, "marker": marker, **row, "test_id": test_id,
                         "statistic": result and result.statistic, "p_value": result and result.p_value})
    return pl.DataFrame(rows, schema=PAIRED_SCHEMA), shared.tests_frame(tests)


class GroupDeltas(NamedTuple):
    table: pl.DataFrame  # DELTAS_SCHEMA
    tests: pl.DataFrame  # marts.statistical_tests rows
    changes: pl.DataFrame  # marker, group, change: the values compared


def group_deltas(draws: pl.DataFrame, patients: pl.DataFrame) -> GroupDeltas:
    """Each marker of `draws` (marker_draws) by DELTA_GROUPS, and the Mann-Whitney tests (mart
    immune_group_deltas, test_id immune_delta.<marker>, rr_mrdpos first: W is its U)."""
    groups = patients.select("subject_id", group=table1_group(pl.col("status_at_first_cycle")))
    draws = draws.join(groups, on="subject_id", how="inner")
    rows, tests, values = [], [], []
    for marker in sorted(draws["marker"].unique()):
        test_id, by_group = f"immune_delta.{marker}", {}
        for group in DELTA_GROUPS:
            part = draws.filter(pl.col("group") == group)
            pairing = paired_frame(side(part, marker, PRE), side(part, marker, END), "subject_id")
            by_group[group] = changes(pairing)
            values += [{"marker": marker, "group": group, "change": change} for change in by_group[group]]
            summary = median_range(by_group[group])
            rows.append({"marker": marker, "group": group, "n": summary.n, "n_missing_pre": pairing.n_missing_pre,
                         "n_missing_post": pairing.n_missing_post, "median": summary.median, "min": summary.min,
                         "max": summary.max, "test_id": test_id})
        if all(by_group.values()):
            result = mann_whitney(*by_group.values())
            tests.append(shared.test_row(test_id, "immune_group_deltas", f"{marker}: change over cycle 1, "
                                         "rr_mrdpos vs mrdneg", DELTA_GROUPS, result))
            for row in rows[-len(DELTA_GROUPS):]:
                row["p_value"] = result.p_value
    return GroupDeltas(pl.DataFrame(rows, schema=DELTAS_SCHEMA), shared.tests_frame(tests),
                       pl.DataFrame(values, schema={"marker": pl.Utf8, "group": pl.Utf8, "change": pl.Float64}))


def immune_group_deltas(labs: pl.DataFrame, cycles: pl.DataFrame, patients: pl.DataFrame) -> GroupDeltas:
    """marts.immune_group_deltas, its tests and the changes compared."""
    return group_deltas(marker_draws(labs, cycles, "blood", MARKERS | BLOOD_COUNTS), patients)


PAIRED_STATISTICS = tuple(f"{side}_{s}" for side in ("pre", "post") for s in SUMMARY)


def published_values(labs: pl.DataFrame, cycles: pl.DataFrame, patients: pl.DataFrame) -> pl.DataFrame:
    """immune.*, immune_14d.*, immune_21_28d.* (lymphocyte markers and immunoglobulins: pre_/post_ median,
    min, max) and immune_delta.* (median, min, max per group); the P-values are in marts.statistical_tests."""
    paired = pl.concat([
        paired_table(marker_draws(labs, cycles, "blood", MARKERS), cycles, "immune_paired", SUBGROUPS)[0],
        paired_table(marker_draws(labs, cycles, "serum", IMMUNOGLOBULINS), cycles, "immunoglobulins", IG_SUBGROUPS)[0],
    ])
    deltas = immune_group_deltas(labs, cycles, patients).table
    return pl.concat([published_rows(paired, "subgroup", PAIRED_STATISTICS),
                      published_rows(deltas, "group", SUMMARY)]).sort("id", "group", "statistic")


# --- figures and Dagster assets: the assets only move frames in and tables, tests and figures out -------------

BEFORE_AFTER = ((PRE, "Before"), (END, "After"))
GROUP_LABELS = (("rr_mrdpos", "R/R + CR-MRDpos"), ("mrdneg", "CR-MRDneg"))


def figure1(draws: pl.DataFrame, table: pl.DataFrame, title: str) -> bytes:
    """Before / after per marker over the pairs of subgroup `all` (Figure 1; Ig panels likewise)."""
    pairs = complete(draws.filter(pl.col("timepoint").is_in([PRE, END])), [PRE, END])
    p_values = dict(table.filter(pl.col("subgroup") == "all").select("marker", "p_value").iter_rows())
    return timepoint_figure(pairs, BEFORE_AFTER, p_values, title, order=[*MARKERS, *IMMUNOGLOBULINS])


def figure2(deltas: GroupDeltas) -> bytes:
    p_values = dict(deltas.table.select("marker", "p_value").unique("marker").iter_rows())
    return change_figure(deltas.changes, GROUP_LABELS, p_values,
                         "Figure 2. Change over cycle 1, R/R + CR-MRDpos vs CR-MRDneg", order=[*MARKERS, *BLOOD_COUNTS])


def publish_paired(warehouse: WarehouseResource, mart: str, specimen: str, markers, subgroups, description: str,
                   title: str, png_name: str) -> dg.MaterializeResult:
    """A before/after mart of `markers` measured in `specimen` (immune_paired, immunoglobulins), its tests
    and its Figure-1-style figure."""
    with warehouse.connect() as con:
        core = shared.CoreFrames(con)
        cycles, draws = core["cycles"], marker_draws(core["labs"], core["cycles"], specimen, markers)
    table, tests = paired_table(draws, cycles, mart, subgroups)
    return shared.publish_mart(warehouse, mart, table, tests, description, PAIRED_COLUMNS,
                               {png_name: figure1(draws, table, title)})


@shared.mart_asset("immune_paired", PAIRED_DESCRIPTION, ("cycles", "labs"))
def immune_paired_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    return publish_paired(warehouse, "immune_paired", "blood", MARKERS, SUBGROUPS, PAIRED_DESCRIPTION,
                          "Figure 1. Lymphocyte subsets before and after cycle 1", "figure1_immune_paired.png")


@shared.mart_asset("immune_group_deltas", DELTAS_DESCRIPTION, ("patients", "cycles", "labs"))
def immune_group_deltas_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        core = shared.CoreFrames(con)
        deltas = immune_group_deltas(core["labs"], core["cycles"], core["patients"])
    return shared.publish_mart(warehouse, "immune_group_deltas", deltas.table, deltas.tests, DELTAS_DESCRIPTION,
                               DELTAS_COLUMNS, {"figure2_immune_group_deltas.png": figure2(deltas)})


@shared.mart_asset("immunoglobulins", IG_DESCRIPTION, ("cycles", "labs"))
def immunoglobulins_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    return publish_paired(warehouse, "immunoglobulins", "serum", IMMUNOGLOBULINS, IG_SUBGROUPS, IG_DESCRIPTION,
                          "Immunoglobulins (g/L) before and after cycle 1", "immunoglobulins_paired.png")

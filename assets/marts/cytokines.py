"""Cytokine marts: serum cytokines at CRS onset (Figure 3) and the ICANS episodes case by case (Table 4).

* `marts.cytokines`: the 12 cytokines of the multiplex kit before cycle 1 (`baseline`), at CRS onset
  (`crs_onset`) and at the end of treatment (immune_samples: the last scheduled draw inside the infusion),
  among the patients with CRS in cycle 1 (core.adverse_events crs grade >= 1, or a crs_onset draw); Wilcoxon
  matched pairs, before vs onset.
* `marts.icans_cytokines`: every ICANS episode (core.adverse_events icans grade >= 1) with serum cytokines
  both before its cycle (`baseline`) and at ICANS onset (`icans_onset`): serum before, serum at onset and CSF
  at onset (plus CSF white cells and albumin), one row per episode and analyte. Episodes are numbered by onset
  date, then subject_id and cycle.

Values below a kit's limit of detection are taken at the floor (immune_samples.observed_value) and flagged.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import dagster as dg
import polars as pl

from assets.marts import shared
from assets.marts.immune_plots import timepoint_figure
from assets.marts.immune_samples import END, PRE, complete, latest, marker_draws, side
from assets.marts.paired_summary import paired_comparison, published_rows, summarise
from assets.marts.stats import matches_published
from orchestration import settings
from orchestration.resources import WarehouseResource

# The 12-plex kit, in the order of Figure 3's panels A-L.
CYTOKINES = ("il10", "il5", "ifng", "il2", "il6", "ifna", "il1b", "il8", "il17", "il12p70", "tnfa", "il4")
CSF_CELLS = ("csf_wbc", "csf_albumin")
ONSET = "crs_onset"
SUMMARY = ("median", "min", "max")

CYTOKINES_SCHEMA = {
    "analyte": pl.Utf8, "n_pairs": pl.Int64, "n_missing_pre": pl.Int64, "n_missing_crs_onset": pl.Int64,
    **{f"{side}_{s}": pl.Float64 for side in ("pre", "crs_onset", "change") for s in SUMMARY},
    "pre_below_lod": pl.Int64, "crs_onset_below_lod": pl.Int64, "n_end": pl.Int64,
    **{f"end_{s}": pl.Float64 for s in SUMMARY},
    "statistic": pl.Float64, "p_value": pl.Float64, "test_id": pl.Utf8,
}
CYTOKINES_COLUMNS = {
    "analyte": "Cytokine code (pg/mL).",
    "n_pairs": "Patients with CRS in cycle 1 and the cytokine both before the cycle and at CRS onset.",
    "n_missing_pre": "Such patients with the onset value but no value before the cycle (not used).",
    "n_missing_crs_onset": "Such patients with the value before the cycle but none at CRS onset (not used).",
    **{f"{side}_{s}": f"{s.capitalize()} {what} over the pairs, pg/mL."
       for side, what in (("pre", "before cycle 1"), ("crs_onset", "at CRS onset"),
                          ("change", "of onset - before")) for s in SUMMARY},
    "pre_below_lod": "Pairs whose value before the cycle is below the kit's limit of detection (taken at the floor).",
    "crs_onset_below_lod": "Pairs whose onset value is below the limit of detection (taken at the floor).",
    "n_end": "Patients with CRS in cycle 1 and a value at the end of treatment.",
    **{f"end_{s}": f"{s.capitalize()} at the end of treatment, pg/mL." for s in SUMMARY},
    "statistic": "Wilcoxon V, before vs CRS onset (R's convention).",
    "p_value": "Wilcoxon matched-pairs P, before vs CRS onset (docs/statistics.md).",
    "test_id": "Key in marts.statistical_tests: cytokine.<analyte> (no test row without a pair).",
}
CYTOKINES_DESCRIPTION = (
    "Serum cytokines of the patients with CRS in cycle 1, before the cycle, at CRS onset and at the end of "
    "treatment (Figure 3): median (range), values below the limit of detection counted, and the Wilcoxon "
    "matched-pairs test before vs onset (mart cytokines in marts.statistical_tests)."
)
ICANS_SCHEMA = {
    "episode": pl.Int64, "subject_id": pl.Utf8, "cycle_no": pl.Int64, "icans_grade": pl.Int64,
    "onset_date": pl.Date, "analyte": pl.Utf8,
    "serum_pre": pl.Float64, "serum_onset": pl.Float64, "csf_onset": pl.Float64,
    "serum_pre_below_lod": pl.Boolean, "serum_onset_below_lod": pl.Boolean, "csf_onset_below_lod": pl.Boolean,
}
# statistic (the reference's) -> (specimen, timepoint) of the draw
ICANS_DRAWS = {"serum_pre": ("serum", PRE), "serum_onset": ("serum", "icans_onset"),
               "csf_onset": ("csf", "icans_onset")}
ICANS_COLUMNS = {
    "episode": "1, 2, ...: the ICANS episodes with serum cytokines before the cycle and at onset, by onset date "
               "(then subject_id, cycle).",
    "subject_id": "The patient.",
    "cycle_no": "The cycle the ICANS occurred in.",
    "icans_grade": "ASTCT grade (core.adverse_events).",
    "onset_date": "ICANS onset.",
    "analyte": "Cytokine (pg/mL), or csf_wbc (cells/uL) and csf_albumin (mg/L).",
    "serum_pre": "Serum before the cycle (its baseline draw).",
    "serum_onset": "Serum at ICANS onset.",
    "csf_onset": "Cerebrospinal fluid at ICANS onset (NULL: no CSF sample).",
    **{f"{statistic}_below_lod": f"{statistic} is below the kit's limit of detection (the floor is shown)."
       for statistic in ICANS_DRAWS},
}
ICANS_DESCRIPTION = (
    "Table 4: cytokines in serum before the cycle and at ICANS onset, and in CSF at onset, for every ICANS "
    "episode with serum cytokines before and at onset; one row per episode and analyte."
)


def crs_patients(adverse_events: pl.DataFrame, draws: pl.DataFrame) -> pl.Series:
    """subject_id of the patients with CRS in cycle 1: graded >= 1, or sampled at CRS onset."""
    graded = adverse_events.filter((pl.col("cycle_no") == 1) & (pl.col("term") == "crs") & (pl.col("grade") >= 1))
    sampled = draws.filter(pl.col("timepoint") == ONSET)
    return pl.concat([graded["subject_id"], sampled["subject_id"]]).unique().sort()


def cytokine_table(draws: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CYTOKINES_SCHEMA rows for each analyte of `draws` (marker_draws of the CRS patients) and the tests."""
    rows, tests = [], []
    for analyte in sorted(draws["marker"].unique()):
        row, result = paired_comparison(side(draws, analyte, PRE), side(draws, analyte, ONSET), post_name=ONSET)
        paired = complete(draws.filter(pl.col("marker") == analyte), [PRE, ONSET])
        for timepoint in (PRE, ONSET):
            name = "pre" if timepoint == PRE else ONSET
            row[f"{name}_below_lod"] = paired.filter(pl.col("timepoint") == timepoint)["below_lod"].sum()
        end = side(draws, analyte, END)["value"]
        row |= {"n_end": end.len(), **summarise("end", end.to_list())}
        test_id = f"cytokine.{analyte}"
        if result is not None:
            tests.append(shared.test_row(test_id, "cytokines", f"{analyte}: before cycle 1 vs CRS onset",
                                         ("pre", ONSET), result))
        rows.append({"analyte": analyte, **row, "statistic": result and result.statistic,
                     "p_value": result and result.p_value, "test_id": test_id})
    return pl.DataFrame(rows, schema=CYTOKINES_SCHEMA), shared.tests_frame(tests)


def cytokine_draws(labs: pl.DataFrame, cycles: pl.DataFrame, adverse_events: pl.DataFrame) -> pl.DataFrame:
    """Cycle-1 serum cytokine draws (marker_draws) of the patients with CRS in cycle 1."""
    draws = marker_draws(labs, cycles, "serum", {c: c for c in CYTOKINES})
    return draws.filter(pl.col("subject_id").is_in(crs_patients(adverse_events, draws).implode()))


def icans_episodes(labs: pl.DataFrame, adverse_events: pl.DataFrame) -> pl.DataFrame:
    """ICANS_SCHEMA: the Table 4 rows of every ICANS episode with serum cytokines before and at onset."""
    keys = ["subject_id", "cycle_no"]
    episodes = adverse_events.filter((pl.col("term") == "icans") & (pl.col("grade") >= 1)).select(
        *keys, icans_grade="grade", onset_date="onset_date").with_columns(pl.col("cycle_no").cast(pl.Int64))
    draws = latest(
        labs.filter(pl.col("analyte").is_in([*CYTOKINES, *CSF_CELLS])).with_columns(pl.col("cycle_no").cast(pl.Int64)),
        [*keys, "specimen", "timepoint", "analyte"],
    )
    values = None
    for statistic, (specimen, timepoint) in ICANS_DRAWS.items():
        part = draws.filter((pl.col("specimen") == specimen) & (pl.col("timepoint") == timepoint)).select(
            *keys, "analyte", pl.col("value").alias(statistic), pl.col("below_lod").alias(f"{statistic}_below_lod"))
        values = part if values is None else values.join(part, on=[*keys, "analyte"], how="full", coalesce=True)
    with_serum = (values.filter(pl.col("serum_pre").is_not_null() & pl.col("serum_onset").is_not_null())
                  .select(keys).unique())
    numbered = (episodes.join(with_serum, on=keys, how="semi")
                .sort("onset_date", *keys, nulls_last=True)
                .with_row_index("episode", offset=1))
    return (numbered.join(values, on=keys, how="inner")
            .sort("episode", "analyte").select(ICANS_SCHEMA.keys()).cast(ICANS_SCHEMA))


# --- the paper's numbers ------------------------------------------------------------------------------------

REFERENCE_CSV = settings.DBT_PROJECT_DIR / "seeds" / "published_results.csv"
TABLE4_PREFIX = "table4.case"


def table4_reference(path: Path = REFERENCE_CSV) -> pl.DataFrame:
    """case, analyte, statistic, value, match of the reference's Table 4 rows."""
    rows = pl.read_csv(path, infer_schema=False).filter(pl.col("id").str.starts_with(TABLE4_PREFIX))
    parts = rows["id"].str.strip_prefix(TABLE4_PREFIX).str.split_exact(".", 1)
    return rows.select(case=parts.struct.field("field_0").cast(pl.Int64), analyte=parts.struct.field("field_1"),
                       statistic="statistic", value="value", match="match")


def match_cases(episodes: pl.DataFrame, reference: pl.DataFrame) -> dict[int, int]:
    """Reference case -> episode. The paper gives its cases no identifier, so each case goes to a different
    episode, choosing the assignment under which most published values reproduce (ties: the first in episode
    order). A mapping, not a check: values that do not match still fail in paper_reproduction."""
    cases = sorted(reference["case"].unique())
    numbers = sorted(episodes["episode"].unique())
    computed = {(row["episode"], row["analyte"], statistic): row[statistic]
                for row in episodes.iter_rows(named=True) for statistic in ICANS_DRAWS}

    def agreement(case: int, episode: int) -> int:
        return sum(bool(matches_published(computed.get((episode, row["analyte"], row["statistic"])), row["value"],
                                          row["match"]))
                   for row in reference.filter(pl.col("case") == case).iter_rows(named=True))

    scores = {(case, episode): agreement(case, episode) for case in cases for episode in numbers}
    size = min(len(cases), len(numbers))
    best = max(itertools.permutations(numbers, size),
               key=lambda chosen: sum(scores[(case, episode)] for case, episode in zip(cases, chosen)), default=())
    return dict(zip(cases, best))


def published_values(labs: pl.DataFrame, cycles: pl.DataFrame, adverse_events: pl.DataFrame) -> pl.DataFrame:
    """cytokine.* (pre_ and crs_onset_ median, min, max) and table4.case<k>.<analyte> (serum_pre, serum_onset,
    csf_onset of the episode matched to case k); the P-values are in marts.statistical_tests."""
    table, _ = cytokine_table(cytokine_draws(labs, cycles, adverse_events))
    statistics = [f"{side}_{s}" for side in ("pre", ONSET) for s in SUMMARY]
    episodes = icans_episodes(labs, adverse_events)
    cases = match_cases(episodes, table4_reference())
    table4 = pl.concat([
        episodes.filter(pl.col("episode") == episode).with_columns(test_id=pl.format(f"{TABLE4_PREFIX}{case}.{{}}",
                                                                                      "analyte"))
        for case, episode in sorted(cases.items())
    ]) if cases else episodes.with_columns(test_id=pl.lit(None, pl.Utf8))
    return pl.concat([published_rows(table, None, statistics),
                      published_rows(table4, None, tuple(ICANS_DRAWS))]).sort("id", "statistic")


# --- Dagster assets: frames in, tables, tests and the figure out ------------------------------------------

FIGURE3_TIMEPOINTS = ((PRE, "Before"), (ONSET, "CRS onset"), (END, "End"))


def figure3(draws: pl.DataFrame, table: pl.DataFrame) -> bytes:
    """Each cytokine before, at CRS onset and at the end of treatment for the patients paired before vs onset."""
    p_values = dict(table.select("analyte", "p_value").iter_rows())
    return timepoint_figure(complete(draws, [PRE, ONSET]), FIGURE3_TIMEPOINTS, p_values,
                            "Figure 3. Serum cytokines (pg/mL) in cycle 1, CRS", order=CYTOKINES, log_scale=True)


@shared.mart_asset("cytokines", CYTOKINES_DESCRIPTION, ("cycles", "labs", "adverse_events"))
def cytokines_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        core = shared.CoreFrames(con)
        draws = cytokine_draws(core["labs"], core["cycles"], core["adverse_events"])
    table, tests = cytokine_table(draws)
    return shared.publish_mart(warehouse, "cytokines", table, tests, CYTOKINES_DESCRIPTION, CYTOKINES_COLUMNS,
                               {"figure3_cytokines_crs.png": figure3(draws, table)})


@shared.mart_asset("icans_cytokines", ICANS_DESCRIPTION, ("labs", "adverse_events"))
def icans_cytokines_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        core = shared.CoreFrames(con)
        table = icans_episodes(core["labs"], core["adverse_events"])
        shared.write_mart(con, "icans_cytokines", table, ICANS_DESCRIPTION, ICANS_COLUMNS)
    return dg.MaterializeResult(metadata=shared.mart_metadata(table, preview_rows=60,
                                                              episodes=table["episode"].n_unique()))

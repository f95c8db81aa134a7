"""Serum and CSF values: immunoglobulins and cytokines before and after cycle 1, and Table 4's ICANS cases.

Each analyte is its own pre/post problem (calibrate.Problem) against the published medians, ranges and Wilcoxon
sides; Table 4's values are copied as published. A cytokine at or under its center's kit floor is the floor.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from demo_cohort.calibrate import Problem, Quantity, Term
from demo_cohort.kits import CYTOKINES, KIT_FLOOR
from demo_cohort.labs_rows import row
from demo_cohort.labs_targets import comparison, direction, has, published, summary, value

IG = {"igg": "immune.igg_g_l", "iga": "immune.iga_g_l", "igm": "immune.igm_g_l"}
N_IG_PAIRS = 31  # patients with immunoglobulins before and after cycle 1
N_CYTOKINE_PAIRS = 40  # cycle-1 CRS patients with serum cytokines before the cycle and at CRS onset


def serum_rows(design: pl.DataFrame, design_cycles: pl.DataFrame, subset_pairs: list[str], pre_date: dict,
               end: dict, rngs: dict[str, np.random.Generator]) -> list[dict]:
    """Immunoglobulins of a subset of the lymphocyte-subset pairs (`subset_pairs`), cytokines of cycle-1 CRS
    patients (baseline, CRS onset, end of infusion), Table 4. `end[mrn]` = (timepoint, date) of the post draw."""
    ig_mrns = sorted(rngs["igs"].choice(subset_pairs, min(N_IG_PAIRS, len(subset_pairs)), replace=False))
    rows = _serum_pairs(ig_mrns, pre_date, end, tuple(IG), _immunoglobulins(rngs["igs"], len(ig_mrns)), {})
    first = design_cycles.filter(pl.col("cycle_no") == 1)
    cases = set(_icans_cases(design).values())
    crs = sorted(m for m in first.filter(pl.col("crs_grade") >= 1)["mrn"] if m not in cases)
    rng = rngs["cytokines"]
    cyto_mrns = sorted(rng.choice(crs, min(N_CYTOKINE_PAIRS, len(crs)), replace=False))
    floors = {m: KIT_FLOOR[c] for m, c in design.select("mrn", "center_id").iter_rows()}
    onset = {m: ("crs_onset", d) for m, d in first.select("mrn", "crs_onset_date").iter_rows()}
    cyto = _cytokines(rng, np.array([floors[m] for m in cyto_mrns]))
    rows += _serum_pairs(cyto_mrns, pre_date, onset, CYTOKINES, cyto, floors)
    at_end = cyto[:, :, :1] * np.exp(rng.normal(0.1, 0.4, cyto[:, :, :1].shape))  # unpublished: near baseline
    rows += [r for r in _serum_pairs(cyto_mrns, pre_date, end, CYTOKINES, np.concatenate([at_end, at_end], 2), floors)
             if r["timepoint"] != "baseline"]
    return rows + _table4(design, design_cycles, rngs["table4"])


def _pairs_problem(ids: dict[str, str], group: str, post_prefix: str, start: np.ndarray,
                   lower: np.ndarray) -> Problem:
    """Pre/post values of several analytes for n patients; x[(patient * len(ids) + analyte) * 2 + (0 pre | 1 post)]."""
    n, k = start.shape[:2]
    constraints = []
    for j, id_ in enumerate(ids.values()):
        base = (np.arange(n) * k + j) * 2
        pre, post = Quantity("term", Term(base)), Quantity("term", Term(base + 1))
        if has(id_, group, "pre_median"):
            constraints += [summary(id_, group, pre, "pre_"), summary(id_, group, post, post_prefix)]
        constraints.append(comparison(id_, True, pre, post, direction(id_, group, group, "pre_median",
                                                                     post_prefix + "median")))
    return Problem(start.ravel(), np.full(start.size, 2), lower.ravel(), np.full(start.size, 1e4), constraints)


def _immunoglobulins(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3, 2) g/L: IgG, IgA, IgM before and after cycle 1; they fall under B-cell aplasia."""
    pre_median = np.array([value(i, "all", "pre_median") for i in IG.values()])
    pre = pre_median * np.exp(rng.normal(0, 0.45, (n, 3)))
    post = pre * np.exp(rng.normal(-0.6, 0.3, (n, 3)))
    problem = _pairs_problem(IG, "all", "post_", np.stack([pre, post], axis=2), np.full((n, 3, 2), 0.01))
    return problem.solve(rng).reshape(n, 3, 2)


def _cytokines(rng: np.random.Generator, floors: np.ndarray) -> np.ndarray:
    """(n, 12, 2) pg/mL before cycle 1 and at CRS onset; at or under the kit's floor a value is the floor."""
    ids = {c: f"cytokine.{c}" for c in CYTOKINES}
    n = len(floors)
    rises = np.array([has(i, "", "pre_median") for i in ids.values()])  # the four published as rising
    pre = np.exp(rng.normal(np.log(2.5), 0.8, (n, 12)))
    post = pre * np.exp(rng.normal(np.where(rises, 0.8, 0.0), 0.5, (n, 12)))
    lower = np.repeat(floors[:, None, None], 12, axis=1).repeat(2, axis=2)
    problem = _pairs_problem(ids, "", "crs_onset_", np.stack([pre, post], axis=2), lower)
    return problem.solve(rng).reshape(n, 12, 2)


def _serum_pairs(mrns: list[str], pre_date: dict, post: dict, analytes: tuple[str, ...], values: np.ndarray,
                 floors: dict) -> list[dict]:
    """Rows for (patient, analyte, pre|post) values; post[mrn] = (timepoint, date)."""
    rows = []
    for i, mrn in enumerate(mrns):
        for j, analyte in enumerate(analytes):
            rows.append(row(mrn, 1, "baseline", pre_date[mrn], "serum", analyte, values[i, j, 0], floors.get(mrn)))
            rows.append(row(mrn, 1, *post[mrn], "serum", analyte, values[i, j, 1], floors.get(mrn)))
    return rows


def _icans_cases(design: pl.DataFrame) -> dict[int, str]:
    """Table 4's case number -> mrn, as the design assigns them."""
    cases = design.filter(pl.col("icans_case").is_not_null()).select("mrn", "icans_case")
    return {int(c): m for m, c in cases.iter_rows()}


def _table4(design: pl.DataFrame, cycles: pl.DataFrame, rng: np.random.Generator) -> list[dict]:
    """The four ICANS cases' serum (before the cycle, at onset) and CSF (at onset) values, as published."""
    pub = published()
    csf_cases = sorted({int(i.split(".")[1][4:]) for (i, _, s) in pub if i.startswith("table4.") and s == "csf_onset"})
    csf_wbc = dict(zip(csf_cases, rng.permutation([0, 40, int(rng.integers(1, 40))][:len(csf_cases)])))
    csf_albumin = dict(zip(csf_cases, rng.permutation([300, 783, int(rng.integers(301, 783))][:len(csf_cases)])))
    rows = []
    for case, mrn in sorted(_icans_cases(design).items()):
        c = cycles.filter((pl.col("mrn") == mrn) & (pl.col("icans_grade") >= 1)).sort("cycle_no").row(0, named=True)
        # the case's kit is the one its published values sit on (cases 1-2: 2.44, 3-4: 0.32); the design must
        # place the case at a center using that kit
        floor = min(float(v) for (i, _, _), (v, _) in pub.items() if i.startswith(f"table4.case{case}."))
        samples = [("baseline", c["start_date"] - dt.timedelta(days=1), "serum", "serum_pre"),
                   ("icans_onset", c["icans_onset_date"], "serum", "serum_onset"),
                   ("icans_onset", c["icans_onset_date"], "csf", "csf_onset")]
        for timepoint, date, specimen, statistic in samples:
            if specimen == "csf" and case not in csf_cases:
                continue
            for analyte in CYTOKINES:
                key = (f"table4.case{case}.{analyte}", "", statistic)
                if key in pub:
                    measured = float(pub[key][0])
                elif specimen == "serum":  # measured by the same 12-plex kit, not published: near the floor
                    measured = round(floor * float(np.exp(abs(rng.normal(0, 0.5)))), 2)
                else:
                    continue
                rows.append(row(mrn, c["cycle_no"], timepoint, date, specimen, analyte, measured, floor))
            if specimen == "csf":
                rows.append(row(mrn, c["cycle_no"], timepoint, date, "csf", "csf_wbc", float(csf_wbc[case])))
                rows.append(row(mrn, c["cycle_no"], timepoint, date, "csf", "csf_albumin", float(csf_albumin[case])))
    return rows

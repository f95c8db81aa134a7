"""Vectorised labs of a scaled chunk: a fixed plan of draws per cycle, long layout (cohort.LABS_SCHEMA)."""

from __future__ import annotations

import numpy as np
import polars as pl

from demo_cohort.scale_columns import const, dates, pick

CBC = ("wbc", "neutrophils", "lymphocytes", "platelets", "hemoglobin")
SUBSETS = ("cd3_abs", "cd4_abs", "cd8_abs", "nk_abs", "cd19_abs", "cd3_pct", "cd4_pct", "cd8_pct", "nk_pct",
           "cd19_pct")
CYTOKINES = ("il1b", "il2", "il4", "il5", "il6", "il8", "il10", "il12p70", "il17", "ifng", "tnfa", "ifna")
# (timepoint, day offset from the cycle start, specimen, analytes, first cycle only): ~46 rows a patient
LAB_PLAN = [
    ("baseline", -1, "blood", CBC, False),
    ("day14", 13, "blood", CBC, False),
    ("day28", 27, "blood", CBC, False),
    ("baseline", -1, "blood", SUBSETS, False),
    ("baseline", -1, "serum", ("igg", "iga", "igm"), False),
    ("baseline", -1, "serum", CYTOKINES, True),
]
# analyte -> (canonical unit, median, log-sd, decimals): lognormal values, not calibrated
ANALYTES = {
    "wbc": ("x10^9/L", 3.5, 0.6, 2), "neutrophils": ("x10^9/L", 1.6, 0.8, 2),
    "lymphocytes": ("x10^9/L", 1.2, 0.6, 2), "platelets": ("x10^9/L", 180, 0.5, 0),
    "hemoglobin": ("g/L", 105, 0.15, 0),
    "cd3_abs": ("x10^9/L", 1.2, 0.5, 3), "cd4_abs": ("x10^9/L", 0.6, 0.5, 3),
    "cd8_abs": ("x10^9/L", 0.5, 0.5, 3), "nk_abs": ("x10^9/L", 0.2, 0.6, 3),
    "cd19_abs": ("x10^9/L", 0.15, 1.2, 3),
    "cd3_pct": ("%", 70, 0.15, 1), "cd4_pct": ("%", 35, 0.2, 1), "cd8_pct": ("%", 30, 0.2, 1),
    "nk_pct": ("%", 12, 0.4, 1), "cd19_pct": ("%", 10, 0.9, 1),
    "igg": ("g/L", 8.5, 0.3, 2), "iga": ("g/L", 0.9, 0.5, 2), "igm": ("g/L", 0.8, 0.5, 2),
    **{c: ("pg/mL", m, 1.0, 2) for c, m in zip(CYTOKINES, (2.0, 2.5, 2.5, 2.0, 6.0, 12.0, 5.0, 2.0, 3.0, 6.0,
                                                           3.0, 2.0))},
}
B_CELL_APLASIA_P = 0.5  # B cells absent (0) before a later cycle: aplasia left by the previous one
# T, B and NK cells share the lymphocytes: a sample's three percentages are scaled down to sum to at most 100
# (drawn apart, one sample in ten summed above the 110 % the validation gate allows).
LINEAGE_PCT = ("cd3_pct", "cd19_pct", "nk_pct")
LINEAGE_PCT_SUM_MAX = 100.0


def _template() -> dict[str, np.ndarray]:
    """The plan as one row per (draw, analyte), with each analyte's distribution."""
    rows = [(tp, offset, specimen, analyte, first_only)
            for tp, offset, specimen, analytes, first_only in LAB_PLAN for analyte in analytes]
    timepoint, offset, specimen, analyte, first_only = map(np.array, zip(*rows))
    unit, median, log_sd, decimals = map(np.array, zip(*(ANALYTES[a] for a in analyte)))
    return {"timepoint": timepoint, "offset": offset, "specimen": specimen, "analyte": analyte,
            "first_only": first_only, "unit": unit, "log_median": np.log(median), "log_sd": log_sd,
            "scale": 10.0 ** decimals, "pct": unit == "%", "b_cell": np.isin(analyte, ["cd19_abs", "cd19_pct"])}


TEMPLATE = _template()


def synth_labs(rng: np.random.Generator, mrns: pl.Series, cyc: dict[str, np.ndarray],
               detection_limits: dict[str, float]) -> pl.DataFrame:
    """The plan applied to every cycle of `cyc` (scale_frames' cycle plan). A value at or under the center's
    kit floor (`detection_limits`, analyte -> floor) sits at the floor, marked "<", as the writers expect."""
    t = TEMPLATE
    size, cycles = len(t["analyte"]), len(cyc["patient"])
    cycle, slot = np.repeat(np.arange(cycles), size), np.tile(np.arange(size), cycles)
    keep = ~t["first_only"][slot] | (cyc["cycle_no"][cycle] == 1)
    cycle, slot = cycle[keep], slot[keep]
    n = len(slot)
    value = np.exp(t["log_median"][slot] + t["log_sd"][slot] * rng.standard_normal(n))
    value = np.where(t["pct"][slot], np.minimum(value, 99.9), value)
    lineage = np.isin(t["analyte"], LINEAGE_PCT)[slot]
    lineage_sum = np.bincount(cycle[lineage], weights=value[lineage], minlength=cycles)[cycle[lineage]]
    value[lineage] *= np.minimum(1.0, LINEAGE_PCT_SUM_MAX / lineage_sum)
    value = np.round(value * t["scale"][slot]) / t["scale"][slot]
    aplasia = t["b_cell"][slot] & (cyc["cycle_no"][cycle] > 1) & (rng.random(n) < B_CELL_APLASIA_P)
    floor = np.array([detection_limits.get(a, np.nan) for a in t["analyte"]])[slot]
    below_floor = (value <= floor) & ~aplasia  # never where the center declares no floor (nan)
    return pl.DataFrame({
        "mrn": mrns.gather(cyc["patient"][cycle]),
        "cycle_no": cyc["cycle_no"][cycle],
        "timepoint": pick(t["timepoint"], slot),
        "sample_date": dates(cyc["start"][cycle] + t["offset"][slot]),
        "specimen": pick(t["specimen"], slot),
        "analyte": pick(t["analyte"], slot),
        "value": np.select([aplasia, below_floor], [0.0, floor], value),
        "marker": const(None, n).set(pl.Series(below_floor), "<"),
        "unit": pick(t["unit"], slot),
    })

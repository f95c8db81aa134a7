"""Absolute lymphocyte counts (x10^9/L) of the subset panels, each marker calibrated on its own.

Absolute counts are decoupled from the percentages: the paper is not consistent there (Table 2's NR median CD3
count 0.24 exceeds the NR median lymphocyte count 0.19) and nothing in the warehouse checks abs = pct x
lymphocytes. So each count (lymphocytes, CD3, CD4, CD8, NK, CD19) is one univariate problem over the layout's
pre samples (Table 2; pairs' baselines) and post samples (end of cycle 1's infusion):
1. the forced pair of the marker (see labs_layout) is solved first on the reporting grid and frozen;
2. Table 2's groups and the change from baseline per status group start from samples with the published minimum,
   median and maximum exactly (calibrate.order_stat_sample), the paired CR-MRDneg baselines near the pairs' median;
3. a short seeded repair (calibrate.Problem) then settles what the overlapping sets (all pairs, per regimen, the
   change per status group) and the P-value sides still miss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo_cohort.calibrate import Problem, Quantity, Term, order_stat_sample
from demo_cohort.labs_layout import SubsetLayout
from demo_cohort.labs_targets import comparison, direction, has, has_p, interval, summary, value

PAIR_SETS = [("immune", "all", None), ("immune_14d", "regimen_14d", "14d"),
             ("immune_21_28d", "regimen_21_28d", "21_28d")]
GROUPS = ("rr_mrdpos", "mrdneg")
REPAIR_MOVES = 8_000  # per attempt: a start that needs more is redrawn
ATTEMPTS = 6
CEILING = 9.5  # x10^9/L, above any published count


@dataclass(frozen=True)
class CountMarker:
    table2: str | None  # name in Table 2 (table2.<name>)
    pairs: str | None  # name in the pair tables (immune*.<name>, immune_delta.<name>)
    anchor: tuple[str, str] | None  # (layout anchor, "max" | "min"): its change is the extreme and ends at the extreme
    decimals: int  # as the laboratory reports


COUNT_MARKERS = {
    "lymphocytes": CountMarker("lymphocytes_abs", None, None, 2),
    "cd3_abs": CountMarker("cd3_abs", "cd3_abs", ("rise_21_28d", "max"), 3),
    "cd4_abs": CountMarker("cd4_abs", "cd4_abs", ("rise_14d", "max"), 3),
    "cd8_abs": CountMarker("cd8_abs", "cd8_abs", ("rise_21_28d", "max"), 3),
    "nk_abs": CountMarker(None, "nk_abs", None, 3),
    "cd19_abs": CountMarker("cd19_abs", "b_abs", ("b_loss", "min"), 3),
}


def calibrate_counts(layout: SubsetLayout, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """analyte -> (pre value per pre sample, post value per post sample)."""
    out = {}
    for analyte, marker in COUNT_MARKERS.items():
        constraints = _constraints(marker, layout)
        for _ in range(ATTEMPTS):
            x, frozen = _start(marker, layout, rng)
            problem = Problem(x, np.full(len(x), marker.decimals), np.zeros(len(x)), np.full(len(x), CEILING),
                              constraints, frozen=frozen)
            x = problem.solve(rng, max_moves=REPAIR_MOVES, strict=False)
            if not problem.unmet:
                break
        else:
            raise RuntimeError(f"{analyte} did not calibrate: {problem.unmet}")
        out[analyte] = (x[:len(layout.mrn)], x[len(layout.mrn):])
    return out


def _grid(lo: float, hi: float, decimals: int) -> np.ndarray:
    scale = 10 ** decimals
    return np.arange(np.ceil(round(lo * scale, 6)), np.floor(round(hi * scale, 6)) + 1) / scale


def anchor_pair(pre_range: tuple[float, float], change: tuple[float, float], post: tuple[float, float],
                decimals: int) -> tuple[float, float]:
    """A baseline in `pre_range` and an end value in `post`, both on the reporting grid, whose difference lies in
    `change` (the published extremes meet only through rounding: e.g. CD4 1.124 -> 2.938, a change of 1.814)."""
    lo, hi = max(pre_range[0], post[0] - change[1]), min(pre_range[1], post[1] - change[0])
    pres = _grid(lo, hi, decimals)
    for pre in sorted(pres, key=lambda p: abs(p - (lo + hi) / 2)):
        ends = _grid(max(post[0], pre + change[0]), min(post[1], pre + change[1]), decimals)
        if len(ends):
            return float(pre), float(ends[len(ends) // 2])
    raise ValueError(f"no baseline in {pre_range} changes by {change} to {post}")


def _extremes(id_: str, group: str, prefix: str = "") -> tuple[float, float, float]:
    return tuple(value(id_, group, prefix + s) for s in ("min", "median", "max"))


def _start(marker: CountMarker, layout: SubsetLayout, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pre then post values with Table 2's and the changes' order statistics exact, and the frozen anchor."""
    n_pre, n_post = len(layout.mrn), len(layout.paired)
    typical = value(f"immune.{marker.pairs}", "all", "pre_median") if marker.pairs else 1.0
    pre = np.round(typical * np.exp(rng.normal(0, 0.6, n_pre)), marker.decimals)
    if marker.table2:
        for g in ("cr", "nr"):
            rows = layout.table2[layout.response[layout.table2] == g]
            values = order_stat_sample(rng, len(rows), *_extremes(f"table2.{marker.table2}", g), marker.decimals)
            pre[rows] = _deal(values, *_pair_ranges(marker, layout, rows), rng)
    post = np.round(pre[layout.paired] * np.exp(rng.normal(0.25, 0.4, n_post)), marker.decimals)
    delta_id = f"immune_delta.{marker.pairs}"
    if has(delta_id, "rr_mrdpos", "median"):
        for g in GROUPS:
            rows = np.flatnonzero(layout.post_group() == g)
            change = order_stat_sample(rng, len(rows), *_extremes(delta_id, g), marker.decimals)
            post[rows] = np.maximum(pre[layout.paired[rows]] + change, 0)
    frozen = np.zeros(n_pre + n_post, bool)
    if marker.anchor:
        role, extreme = marker.anchor
        i = layout.anchors[role]
        j = int(np.flatnonzero(layout.paired == i)[0])
        pre_range = (0.0, CEILING)
        if marker.table2:
            pre_range = (interval(f"table2.{marker.table2}", layout.response[i], "min")[0],
                         interval(f"table2.{marker.table2}", layout.response[i], "max")[1])
        a, b = anchor_pair(pre_range, interval(delta_id, "rr_mrdpos", extreme),
                           interval(f"immune.{marker.pairs}", "all", f"post_{extreme}"), marker.decimals)
        same = np.flatnonzero(layout.response[layout.table2] == layout.response[i])
        nearest = layout.table2[same[np.argmin(np.abs(pre[layout.table2[same]] - a))]]
        pre[[i, nearest]] = pre[[nearest, i]]  # the group keeps its values but the one the anchor replaces
        pre[i], post[j] = a, b
        frozen[[i, n_pre + j]] = True
    return np.concatenate([pre, post]), frozen


def _pair_ranges(marker: CountMarker, layout: SubsetLayout, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pre sample of `rows`, the published pre-treatment range of every pair set it counts in."""
    lo, hi = np.zeros(len(rows)), np.full(len(rows), CEILING)
    if not marker.pairs:
        return lo, hi
    paired = np.isin(rows, layout.paired)
    for id_, group, keep in PAIR_SETS:
        key = f"{id_}.{marker.pairs}"
        if has(key, group, "pre_min"):
            counted = paired & ((layout.regimen[rows] == keep) if keep else True)
            lo[counted] = np.maximum(lo[counted], interval(key, group, "pre_min")[0])
            hi[counted] = np.minimum(hi[counted], interval(key, group, "pre_max")[1])
    return lo, hi


def _deal(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`values` dealt to samples within [lo, hi] where possible, the most restricted samples first."""
    pool = list(rng.permutation(values))
    out = np.empty(len(values))
    for i in np.argsort(hi - lo, kind="stable"):
        fits = [k for k, v in enumerate(pool) if lo[i] <= v <= hi[i]]
        out[i] = pool.pop(fits[0] if fits else 0)
    return out


def _constraints(marker: CountMarker, layout: SubsetLayout) -> list:
    n_pre = len(layout.mrn)
    term = lambda idx: Quantity("term", Term(np.asarray(idx)))  # noqa: E731
    constraints = []
    if marker.table2:
        id_ = f"table2.{marker.table2}"
        q = {g: term(layout.table2[layout.response[layout.table2] == g]) for g in ("cr", "nr")}
        constraints += [summary(id_, g, q[g]) for g in q]
        constraints.append(comparison(id_, False, q["nr"], q["cr"], direction(id_, "nr", "cr")))
    if not marker.pairs:
        return constraints
    post_index = n_pre + np.arange(len(layout.paired))
    for id_, group, keep in PAIR_SETS:
        key = f"{id_}.{marker.pairs}"
        rows = np.flatnonzero(layout.post_regimen() == keep) if keep else np.arange(len(layout.paired))
        pre, post = term(layout.paired[rows]), term(post_index[rows])
        if has(key, group, "pre_median"):
            constraints += [summary(key, group, pre, "pre_"), summary(key, group, post, "post_")]
        if has_p(key):
            constraints.append(comparison(key, True, pre, post,
                                          direction(key, group, group, "pre_median", "post_median")))
    key = f"immune_delta.{marker.pairs}"
    if has(key, "rr_mrdpos", "median"):
        change = {g: Quantity("diff", Term(post_index[layout.post_group() == g]),
                              Term(layout.paired[layout.post_group() == g])) for g in GROUPS}
        constraints += [summary(key, g, change[g]) for g in GROUPS]
        constraints.append(comparison(key, False, change["mrdneg"], change["rr_mrdpos"],
                                      direction(key, "mrdneg", "rr_mrdpos")))
    return constraints

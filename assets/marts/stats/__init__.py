"""Pure statistical functions for the marts, pinned to R's answers (docs/statistics.md).

No Dagster and no DuckDB here: inputs are sequences, numpy arrays or polars frames. Kaplan-Meier, log-rank
and the rank tests also take counts (`*_from_counts`), which assets/marts/aggregates.py computes in DuckDB;
the CTCAE grading is SQL text the marts run there.
scipy and lifelines are imported inside the functions that need them (lifelines alone costs ~4.5 s).
"""

from .concordance import concordance_index
from .contingency import chi_square, fisher_exact_2x2
from .cox import CoxResult, cox_ph
from .cox_zph import cox_zph
from .descriptive import MedianRange, median_range, round_half_up
from .grading import CTCAE_V5_COUNT_DECREASED, ctcae_grade, grade_band
from .kaplan_meier import CURVE_SCHEMA, SurvivalAt, kaplan_meier, kaplan_meier_from_counts, survival_at
from .logrank import logrank_from_counts, logrank_test
from .median_survival import MedianSurvival, median_survival
from .paired import Pairing, paired_frame
from .proportions import ProportionCI, proportion_ci
from .published import date_number, matches_published
from .rank_sum import mann_whitney, mann_whitney_from_counts, mann_whitney_r
from .result import StatResult, undefined
from .signed_rank import wilcoxon_paired, wilcoxon_paired_from_counts, wilcoxon_paired_r

__all__ = [
    "CTCAE_V5_COUNT_DECREASED",
    "CURVE_SCHEMA",
    "CoxResult",
    "MedianRange",
    "MedianSurvival",
    "Pairing",
    "ProportionCI",
    "StatResult",
    "undefined",
    "SurvivalAt",
    "chi_square",
    "concordance_index",
    "cox_ph",
    "cox_zph",
    "ctcae_grade",
    "date_number",
    "fisher_exact_2x2",
    "grade_band",
    "kaplan_meier",
    "kaplan_meier_from_counts",
    "logrank_from_counts",
    "logrank_test",
    "mann_whitney",
    "mann_whitney_from_counts",
    "mann_whitney_r",
    "matches_published",
    "median_range",
    "median_survival",
    "paired_frame",
    "proportion_ci",
    "round_half_up",
    "survival_at",
    "wilcoxon_paired",
    "wilcoxon_paired_from_counts",
    "wilcoxon_paired_r",
]

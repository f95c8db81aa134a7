"""The survival marts' groupings: each a polars expression over the patient frame giving a patient's group.

The patient frame is first_cycle.first_cycles: core.patients with the facts of their cycle 1 (`status` at
its start, `mrd_negative_after` at its end, ...).

A new comparison is a new line in GROUPINGS. The expression returns the group label, or null for a patient
outside the comparison (e.g. a CR-MRDneg patient in an R/R-only subgroup, or a patient whose MRD response is
unknown). Every grouping with at least two groups gets a log-rank test per endpoint, stored in
marts.statistical_tests as `survival.<endpoint>.<grouping name>`: the paper's groupings are named so that
this is the id of the published P-value in published_results.csv.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class Grouping:
    """`name` keys the grouping in the marts and names its log-rank test; `paper` marks groupings whose
    1-year estimates the paper publishes (group labels as in published_results.csv); `figures` names the
    paper's figure panel per endpoint; `labels` are the groups' names on plots (default: the label)."""

    name: str
    title: str
    group: pl.Expr
    paper: bool = False
    figures: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


_INDICATION = pl.col("indication_group")
# "MRD response after blinatumomab": MRD < 0.01 % at the end of cycle 1, the paper's response assessment
# (its non-responders count as EFS events at that date). Not mrd_negative_any_cycle: a CR-MRDpos
# non-responder who clears MRD in cycle 2 would move to the responders and the paper's 26 / 4 split breaks.
_REACHED = pl.col("mrd_negative_after")


def _by_mrd_response(name: str, title: str, prefix: str, within: pl.Expr) -> Grouping:
    """`<prefix>_mrd_response` / `<prefix>_no_mrd_response` inside the population `within`; null outside
    it, and where cycle 1's end-of-cycle MRD is unknown (an unknown response is not a non-response)."""
    group = (
        pl.when(within & _REACHED).then(pl.lit(f"{prefix}_mrd_response"))
        .when(within & _REACHED.not_()).then(pl.lit(f"{prefix}_no_mrd_response"))
    )
    labels = {f"{prefix}_mrd_response": "MRD negative", f"{prefix}_no_mrd_response": "MRD positive"}
    return Grouping(name, title, group, paper=True, labels=labels)


_STATUS_LABELS = {"rr": "R/R", "cr_mrdpos": "CR-MRDpos", "cr_mrdneg": "CR-MRDneg"}

GROUPINGS: tuple[Grouping, ...] = (
    Grouping("overall", "All patients", pl.lit("all")),
    Grouping(
        "rr_vs_not", "R/R vs not R/R (by indication)",
        pl.when(_INDICATION == "rr").then(pl.lit("rr"))
        .when(_INDICATION.is_not_null()).then(pl.lit("not_rr")),
        paper=True, figures={"efs": "Figure 4A", "os": "Figure 4B"},
        labels={"rr": "R/R", "not_rr": "not R/R"},
    ),
    Grouping(
        "three_groups", "R/R, CR-MRDpos and CR-MRDneg (by indication)", _INDICATION,
        paper=True, figures={"efs": "Figure 4C", "os": "Figure 4D"}, labels=_STATUS_LABELS,
    ),
    _by_mrd_response("rr_mrdpos_by_mrd_response", "R/R + CR-MRDpos by MRD response after cycle 1", "rr_mrdpos",
                     _INDICATION.is_in(["rr", "cr_mrdpos"])),
    _by_mrd_response("rr_by_mrd_response", "R/R by MRD response after cycle 1", "rr", _INDICATION == "rr"),
    _by_mrd_response("cr_mrdpos_by_mrd_response", "CR-MRDpos by MRD response after cycle 1", "cr_mrdpos",
                     _INDICATION == "cr_mrdpos"),
    Grouping("cycle1_status", "Disease status at the first cycle", pl.col("status"),
             labels=_STATUS_LABELS),
    Grouping("cytogenetic_risk", "Cytogenetic risk (CCCG-ALL-2015)", pl.col("cytogenetic_risk")),
)

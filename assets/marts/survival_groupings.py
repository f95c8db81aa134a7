"""The survival marts' groupings: each a SQL expression over first_cycle's relation giving a patient's group.

The relation is first_cycle.FIRST_CYCLES: core.patients with the facts of their cycle 1 (`status` at its
start, `mrd_negative_after` at its end, ...), one row per patient.

A new comparison is a new line in GROUPINGS. The expression returns the group label, or NULL for a patient
outside the comparison (e.g. a CR-MRDneg patient in an R/R-only subgroup, or a patient whose MRD response is
unknown). Every grouping with at least two groups gets a log-rank test per endpoint, stored in
marts.statistical_tests as `survival.<endpoint>.<grouping name>`: the paper's groupings are named so that
this is the id of the published P-value in published_results.csv.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grouping:
    """`name` keys the grouping in the marts and names its log-rank test; `group` is the SQL expression of a
    patient's group (NULL outside the grouping); `paper` marks groupings whose
    1-year estimates the paper publishes (group labels as in published_results.csv); `figures` names the
    paper's figure panel per endpoint; `labels` are the groups' names on plots (default: the label)."""

    name: str
    title: str
    group: str
    paper: bool = False
    figures: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


_INDICATION = "indication_group"
# "MRD response after blinatumomab": MRD < 0.01 % at the end of cycle 1, the paper's response assessment
# (its non-responders count as EFS events at that date). Not mrd_negative_any_cycle: a CR-MRDpos
# non-responder who clears MRD in cycle 2 would move to the responders and the paper's 26 / 4 split breaks.
_REACHED = "mrd_negative_after"


def _by_mrd_response(name: str, title: str, prefix: str, within: str) -> Grouping:
    """`<prefix>_mrd_response` / `<prefix>_no_mrd_response` inside the population `within`; NULL outside
    it, and where cycle 1's end-of-cycle MRD is unknown (an unknown response is not a non-response)."""
    group = (f"CASE WHEN ({within}) AND {_REACHED} THEN '{prefix}_mrd_response' "
             f"WHEN ({within}) AND NOT {_REACHED} THEN '{prefix}_no_mrd_response' END")
    labels = {f"{prefix}_mrd_response": "MRD negative", f"{prefix}_no_mrd_response": "MRD positive"}
    return Grouping(name, title, group, paper=True, labels=labels)


_STATUS_LABELS = {"rr": "R/R", "cr_mrdpos": "CR-MRDpos", "cr_mrdneg": "CR-MRDneg"}

GROUPINGS: tuple[Grouping, ...] = (
    Grouping("overall", "All patients", "'all'"),
    Grouping(
        "rr_vs_not", "R/R vs not R/R (by indication)",
        f"CASE WHEN {_INDICATION} = 'rr' THEN 'rr' WHEN {_INDICATION} IS NOT NULL THEN 'not_rr' END",
        paper=True, figures={"efs": "Figure 4A", "os": "Figure 4B"},
        labels={"rr": "R/R", "not_rr": "not R/R"},
    ),
    Grouping(
        "three_groups", "R/R, CR-MRDpos and CR-MRDneg (by indication)", _INDICATION,
        paper=True, figures={"efs": "Figure 4C", "os": "Figure 4D"}, labels=_STATUS_LABELS,
    ),
    _by_mrd_response("rr_mrdpos_by_mrd_response", "R/R + CR-MRDpos by MRD response after cycle 1", "rr_mrdpos",
                     f"{_INDICATION} IN ('rr', 'cr_mrdpos')"),
    _by_mrd_response("rr_by_mrd_response", "R/R by MRD response after cycle 1", "rr", f"{_INDICATION} = 'rr'"),
    _by_mrd_response("cr_mrdpos_by_mrd_response", "CR-MRDpos by MRD response after cycle 1", "cr_mrdpos",
                     f"{_INDICATION} = 'cr_mrdpos'"),
    Grouping("cycle1_status", "Disease status at the first cycle", "status", labels=_STATUS_LABELS),
    Grouping("cytogenetic_risk", "Cytogenetic risk (CCCG-ALL-2015)", "cytogenetic_risk"),
)

"""Who has a lymphocyte-subset panel, and which of them are the paper's forced patients.

Every R/R + CR-MRDpos patient has a baseline panel (Table 2: 51 patients, CR vs NR after cycle 1); 23 of them
and 21 CR-MRDneg patients also have one at the end of cycle 1's infusion (the pre/post tables). Pre samples are
the 51 first, then the paired CR-MRDneg ones; `paired` indexes the pre samples that have a post sample.

Three pairs are forced by the published extremes (docs/published-results.md): the largest rise in CD3 (and CD8)
cells ends at the pairs' maximum in a 21-28-day NR patient, the largest rise in CD4 cells in a 14-day CR patient
whose baseline is Table 2's CR maximum, and the CR patient with Table 2's largest B-cell count loses them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

N_PAIRED_RR_MRDPOS = 23  # of the 51 R/R + CR-MRDpos patients, those with an end-of-treatment panel
N_PAIRED_MRDNEG = 21  # CR-MRDneg patients with panels before and after cycle 1
ANCHOR_KINDS = {"rise_21_28d": ("nr", "21_28d"), "rise_14d": ("cr", "14d"), "b_loss": ("cr", None)}


@dataclass(frozen=True)
class SubsetLayout:
    mrn: np.ndarray  # per pre sample
    group: np.ndarray  # rr_mrdpos | mrdneg
    response: np.ndarray  # cr | nr
    regimen: np.ndarray  # 14d | 21_28d
    paired: np.ndarray  # pre-sample index of each post sample
    anchors: dict[str, int]  # forced pair -> pre-sample index

    @property
    def table2(self) -> np.ndarray:
        return np.flatnonzero(self.group == "rr_mrdpos")

    def post_group(self) -> np.ndarray:
        return self.group[self.paired]

    def post_regimen(self) -> np.ndarray:
        return self.regimen[self.paired]


def subset_layout(design: pl.DataFrame, rng: np.random.Generator) -> SubsetLayout:
    """The anchors are drawn first among the patients of their kind, the other pairs at random."""
    d = design.sort("mrn")
    rr = d.filter(pl.col("cycle1_status") != "cr_mrdneg")
    neg = d.filter(pl.col("cycle1_status") == "cr_mrdneg")
    neg = neg[np.sort(rng.choice(neg.height, N_PAIRED_MRDNEG, replace=False))]
    both = pl.concat([rr, neg])
    response, regimen = both["response_c1"].to_numpy(), both["regimen_c1"].to_numpy()
    anchors: dict[str, int] = {}
    for role, (kind, reg) in ANCHOR_KINDS.items():
        fits = (np.arange(both.height) < rr.height) & (response == kind) & (regimen == reg if reg else True)
        fits[list(anchors.values())] = False
        anchors[role] = int(rng.choice(np.flatnonzero(fits)))
    others = np.setdiff1d(np.arange(rr.height), list(anchors.values()))
    chosen = rng.choice(others, N_PAIRED_RR_MRDPOS - len(anchors), replace=False)
    paired = np.sort(np.concatenate([list(anchors.values()), chosen, np.arange(rr.height, both.height)]))
    group = np.where(np.arange(both.height) < rr.height, "rr_mrdpos", "mrdneg")
    return SubsetLayout(both["mrn"].to_numpy(), group, response, regimen, paired, anchors)

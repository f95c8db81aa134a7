"""Harrell's concordance index of a risk score, as R's `concordance(Surv(time, event) ~ risk, reverse = TRUE)`
(what `coxph` reports) and lifelines' `concordance_index(time, -risk, event)`.

Own code where lifelines has it: lifelines walks a pure-Python b-tree once per subject, 8.7 s of a Cox mart's
12.6 s at 1,000,000 patients (452,000 subjects); here one vectorised step per distinct time (times in whole
days: a few thousand at most) gives the same counts in well under a second.
"""

from __future__ import annotations

import numpy as np


def concordance_index(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Of the comparable pairs, an event and a subject known to outlive it (a later time, or a censoring at
    the event's time), the share where the event has the higher `risk`; tied risks count one half.

    Each subject meets the pool of the events before it, its own time's events too when it is censored:
    sorted event scores, searched (how many lower, how many equal) and then extended time by time."""
    time, risk = np.asarray(time, dtype=float), np.asarray(risk, dtype=float)
    died = np.asarray(event).astype(bool)
    order = np.argsort(time, kind="stable")
    time, died, score = time[order], died[order], -risk[order]  # a lower score: an earlier expected event
    starts = np.flatnonzero(np.r_[True, time[1:] != time[:-1]])
    pool = np.empty(0)
    correct = tied = pairs = 0
    for start, end in zip(starts, np.r_[starts[1:], time.size]):
        deaths, censored = score[start:end][died[start:end]], score[start:end][~died[start:end]]
        for scores, joins_pool in ((deaths, True), (censored, False)):
            if not scores.size:
                continue
            lower = np.searchsorted(pool, scores, side="left")
            correct += int(lower.sum())
            tied += int((np.searchsorted(pool, scores, side="right") - lower).sum())
            pairs += pool.size * scores.size
            if joins_pool:
                ordered = np.sort(scores)
                pool = np.insert(pool, np.searchsorted(pool, ordered), ordered)
    if not pairs:
        raise ZeroDivisionError("no comparable pairs: no event before another subject's time")
    return (correct + tied / 2) / pairs

"""Cox partial likelihood with Efron's handling of tied event times, term by event time.

Shared by the Cox fit (score and information in beta) and R's proportional-hazards test (the same
terms weighted by a function of time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EfronTerms:
    """Per distinct event time j: `residuals[j]` = sum over the deaths of x minus the Efron-weighted
    risk-set means (the Schoenfeld residual sum, whose total is the score), `covariances[j]` the
    matching weighted covariances (whose total is the information). `loglik` is the log partial
    likelihood at beta."""

    event_times: np.ndarray
    residuals: np.ndarray
    covariances: np.ndarray
    loglik: float

    @property
    def score(self) -> np.ndarray:
        return self.residuals.sum(axis=0)

    @property
    def information(self) -> np.ndarray:
        return self.covariances.sum(axis=0)


def efron_terms(time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray) -> EfronTerms:
    """The terms at beta in O(n log n): the risk sets' sums are suffix sums over the subjects sorted by time,
    the Efron steps one row per death (a registry's 500,000 subjects and 2,000 event times in seconds,
    where a pass over everyone per event time takes minutes)."""
    x = x - x.mean(axis=0)  # centring leaves the partial likelihood unchanged and avoids overflow
    eta = x @ beta
    risk = np.exp(eta)
    weighted = risk[:, None] * x
    squares = weighted[:, :, None] * x[:, None, :]
    order = np.argsort(time, kind="stable")

    def risk_set_sums(values: np.ndarray, first: np.ndarray) -> np.ndarray:
        """Sums of `values` over the subjects whose time is at least each event time (sorted from `first`)."""
        return np.cumsum(values[order][::-1], axis=0)[::-1][first]

    died = event == 1
    event_times, of_time, tied = np.unique(time[died], return_inverse=True, return_counts=True)
    first = np.searchsorted(time[order], event_times, side="left")
    s0, s1, s2 = (risk_set_sums(values, first) for values in (risk, weighted, squares))
    d0, d1, d2 = (_sums_per_time(values[died], of_time, event_times.size) for values in (risk, weighted, squares))
    # Efron: the k-th of a time's d tied deaths (k = 0 .. d - 1) sees the risk set less k/d of the dying
    rank = np.empty(of_time.size, dtype=np.int64)
    by_time = np.argsort(of_time, kind="stable")
    rank[by_time] = np.arange(of_time.size) - np.repeat(np.cumsum(tied) - tied, tied)
    share = rank / tied[of_time]
    w0 = s0[of_time] - share * d0[of_time]
    w1 = s1[of_time] - share[:, None] * d1[of_time]
    w2 = s2[of_time] - share[:, None, None] * d2[of_time]
    mean = w1 / w0[:, None]
    steps = event_times.size
    residuals = _sums_per_time(x[died] - mean, of_time, steps)
    covariances = _sums_per_time(w2 / w0[:, None, None] - mean[:, :, None] * mean[:, None, :], of_time, steps)
    loglik = float(eta[died].sum() - np.log(w0).sum())
    return EfronTerms(event_times, residuals, covariances, loglik)


def _sums_per_time(values: np.ndarray, of_time: np.ndarray, steps: int) -> np.ndarray:
    sums = np.zeros((steps, *values.shape[1:]))
    np.add.at(sums, of_time, values)
    return sums

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
    x = x - x.mean(axis=0)  # centring leaves the partial likelihood unchanged and avoids overflow
    eta = x @ beta
    risk = np.exp(eta)
    event_times = np.unique(time[event == 1])
    p = x.shape[1]
    residuals = np.zeros((event_times.size, p))
    covariances = np.zeros((event_times.size, p, p))
    loglik = 0.0
    for j, t in enumerate(event_times):
        at_risk, dying = time >= t, (time == t) & (event == 1)
        d = int(dying.sum())
        s0, s1 = risk[at_risk].sum(), risk[at_risk] @ x[at_risk]
        s2 = (x[at_risk] * risk[at_risk, None]).T @ x[at_risk]
        d0, d1 = risk[dying].sum(), risk[dying] @ x[dying]
        d2 = (x[dying] * risk[dying, None]).T @ x[dying]
        residuals[j] = x[dying].sum(axis=0)
        loglik += eta[dying].sum()
        for k in range(d):  # Efron: the tied deaths leave the risk set a fraction k/d at a time
            w0, w1, w2 = s0 - k / d * d0, s1 - k / d * d1, s2 - k / d * d2
            mean = w1 / w0
            residuals[j] -= mean
            covariances[j] += w2 / w0 - np.outer(mean, mean)
            loglik -= np.log(w0)
    return EfronTerms(event_times, residuals, covariances, float(loglik))

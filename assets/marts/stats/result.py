"""The one result type every hypothesis test returns: a row of `marts.statistical_tests`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class StatResult:
    """One test's outcome.

    `statistic` follows R's convention for the test (V, W, chi-square, ...), so a reader can check it
    against R. `extras` carries what only this test has (counts, tie flags, exact or not); it is stored
    as JSON so that every test fits one table.
    """

    test: str
    method: str
    statistic: float | None
    p_value: float | None  # None: the data cannot answer (undefined)
    n: int
    df: float | None = None
    estimate: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """Flat dict with `extras` serialised (sorted keys, so the same result gives the same bytes)."""
        row = asdict(self)
        row["extras"] = json.dumps(self.extras, sort_keys=True)
        return row


def undefined(test: str, method: str, n: int, reason: str, statistic: float | None = None,
              df: float | None = None, extras: dict[str, Any] | None = None) -> StatResult:
    """A test the data cannot answer, where R gives NA or NaN or refuses (no events, no non-zero pair):
    P is NULL, never a P = 1 that reads as "no difference"; `extras.defined` is false and `extras.reason`
    says why (docs/statistics.md, "When a test has no answer")."""
    return StatResult(test=test, method=method, statistic=statistic, p_value=None, n=n, df=df,
                      extras={**(extras or {}), "defined": False, "reason": reason})

"""Calibrate synthetic values to published summaries: order statistics and P-value sides.

A published table gives, per group, a median, a minimum and a maximum rounded to a few decimals, and a P-value.
The same samples feed several tables at once (a baseline count is in Table 2, in the pre/post comparison and in
the change from baseline), so the values are found jointly: a greedy local search over a vector of variables
that moves one variable at a time toward the violated constraint and keeps the move when the total violation
does not grow. Every move is drawn from a seeded generator, so a seed gives the same values every time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

SIG = 0.05


def rounding_interval(value: float, decimals: int) -> tuple[float, float]:
    """Values that round to `value` at `decimals`, shrunk a little so no float sits on a rounding edge."""
    half = 0.45 * 10.0 ** -decimals
    return value - half, value + half


def p_band(published: str) -> tuple[float, float]:
    """Where a synthetic P-value must fall to be on the published side of 0.05, with a margin.

    The margin keeps the side under R's and scipy's variants of a test (exact, normal, with or without
    continuity correction); it shrinks only when the published value itself is close to 0.05.
    """
    if published.startswith("<"):
        return 0.0, float(published[1:]) * 0.5
    if published.startswith(">="):
        return 0.06, 1.0
    p = float(published)
    if p < SIG:
        return p / 5, min(p * 1.5, max(0.04, p + 0.001))
    return max(0.06, p / 2) if p > 0.06 else p + 0.002, 1.0


def order_stat_sample(rng: np.random.Generator, n: int, low: float, median: float, high: float,
                      decimals: int) -> np.ndarray:
    """n values in random order whose minimum, median and maximum are exactly `low`, `median`, `high`.

    The others are drawn half on each side of the median, log-uniformly (uniformly when a bound is 0) between it
    and the extreme.
    """
    middle = [median] if n % 2 else [median, median]
    side = (n - len(middle) - 2) // 2

    def fill(extreme: float) -> np.ndarray:
        u = rng.random(side)
        v = median * (extreme / median) ** u if extreme > 0 and median > 0 else median + (extreme - median) * u
        return np.clip(np.round(v, decimals), min(extreme, median), max(extreme, median))

    return rng.permutation(np.concatenate([[low], fill(low), middle, fill(high), [high]]))


def wilcoxon_normal_p(pre: np.ndarray, post: np.ndarray) -> float:
    """Wilcoxon signed-rank P, normal approximation with tie and continuity correction (R's default with ties)."""
    d = np.round(post - pre, 9)
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return 1.0
    ranks, ties = _ranks(np.abs(d))
    z = ranks[d > 0].sum() - n * (n + 1) / 4
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - (ties ** 3 - ties).sum() / 48)
    if sigma == 0:
        return 1.0
    return math.erfc(max(abs(z) - 0.5, 0.0) / sigma / math.sqrt(2))


def mannwhitney_normal_p(x: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney P, normal approximation with tie and continuity correction (R's and scipy's asymptotic)."""
    nx, ny = len(x), len(y)
    both = np.round(np.concatenate([x, y]), 9)
    ranks, ties = _ranks(both)
    n = nx + ny
    z = ranks[:nx].sum() - nx * (nx + 1) / 2 - nx * ny / 2
    sigma = math.sqrt(nx * ny / 12 * ((n + 1) - (ties ** 3 - ties).sum() / (n * (n - 1))))
    if sigma == 0:
        return 1.0
    return math.erfc(max(abs(z) - 0.5, 0.0) / sigma / math.sqrt(2))


def _ranks(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ranks of v and the sizes of its tie groups (scipy's rankdata is ten times slower here)."""
    _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2)[inverse], counts


@dataclass(frozen=True)
class Term:
    """A reported number per sample: x[var]."""

    var: np.ndarray

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x[self.var]

    def variables(self) -> list[np.ndarray]:
        return [self.var]

    def movable(self, free: np.ndarray) -> np.ndarray:
        return free[self.var]

    def solve_for(self, x: np.ndarray, i: int, target: float, rng: np.random.Generator,
                  free: np.ndarray) -> tuple[int, float]:
        """The variable and its new value that bring sample i's term to `target`."""
        return int(self.var[i]), target


@dataclass(frozen=True)
class Quantity:
    """One number per sample: a term, the ratio of two terms, or their difference (change from baseline)."""

    kind: str  # "term" | "ratio" | "diff"
    a: Term
    b: Term | None = None

    def compute(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "term":
            return self.a.compute(x)
        if self.kind == "diff":
            return np.round(self.a.compute(x) - self.b.compute(x), 9)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.a.compute(x) / self.b.compute(x)

    def variables(self) -> np.ndarray:
        terms = [self.a] if self.b is None else [self.a, self.b]
        return np.unique(np.concatenate([v for t in terms for v in t.variables()]))

    def movable(self, free: np.ndarray) -> np.ndarray:
        """Per sample: whether some variable behind it may move."""
        return self.a.movable(free) if self.b is None else self.a.movable(free) | self.b.movable(free)

    def solve_for(self, x: np.ndarray, i: int, target: float, rng: np.random.Generator,
                  free: np.ndarray) -> tuple[int, float]:
        """A variable and its new value that bring sample i's quantity to `target` (moving either term)."""
        if self.kind == "term":
            return self.a.solve_for(x, i, target, rng, free)
        a, b = self.a.compute(x)[i], self.b.compute(x)[i]
        first = (rng.random() < 0.5 or not self.b.movable(free)[i]) and self.a.movable(free)[i]
        if self.kind == "diff":
            return (self.a.solve_for(x, i, b + target, rng, free) if first
                    else self.b.solve_for(x, i, a - target, rng, free))
        if first or target <= 0:
            return self.a.solve_for(x, i, target * b, rng, free)
        return self.b.solve_for(x, i, a / target, rng, free)


@dataclass(frozen=True)
class Summary:
    """Published median, minimum and maximum of a quantity over a set of samples, as intervals."""

    name: str
    q: Quantity
    median: tuple[float, float]
    low: tuple[float, float]
    high: tuple[float, float]

    def cost(self, x: np.ndarray) -> float:
        v = self.q.compute(x)
        return sum(_miss(s, iv) for s, iv in ((np.median(v), self.median), (v.min(), self.low),
                                               (v.max(), self.high)))

    def propose(self, x: np.ndarray, rng: np.random.Generator, free: np.ndarray) -> list[tuple[int, float]]:
        movable = np.flatnonzero(self.q.movable(free))
        if not len(movable):
            return []
        if rng.random() < 0.3 and len(movable) > 1:  # swap a measured value: this set's values of it stay
            var = self.q.a.var
            i, j = rng.choice(movable, 2, replace=False)
            return [(int(var[i]), x[var[j]]), (int(var[j]), x[var[i]])]
        return [self._retarget(x, rng, free, movable)]

    def _retarget(self, x: np.ndarray, rng: np.random.Generator, free: np.ndarray,
                  movable: np.ndarray) -> tuple[int, float]:
        v = self.q.compute(x)

        def pick(candidates: np.ndarray) -> int:
            return _pick(rng, np.intersect1d(candidates, movable), movable)

        med, lo, hi = (sum(iv) / 2 for iv in (self.median, self.low, self.high))
        checks = [(v.min(), self.low), (v.max(), self.high), (np.median(v), self.median)]
        which = rng.choice([k for k, (s, iv) in enumerate(checks) if _miss(s, iv) > 0])
        if which == 0:  # minimum: lift values under it, or bring one value down to it
            under = np.flatnonzero(v < self.low[0])
            i = pick(under if len(under) else np.flatnonzero(v <= med))
            return self.q.solve_for(x, i, rng.uniform(lo, med) if len(under) else lo, rng, free)
        if which == 1:
            over = np.flatnonzero(v > self.high[1])
            i = pick(over if len(over) else np.flatnonzero(v >= med))
            return self.q.solve_for(x, i, rng.uniform(med, hi) if len(over) else hi, rng, free)
        order = np.argsort(v, kind="stable")
        middle = order[(len(v) - 1) // 2: len(v) // 2 + 1]
        if rng.random() < 0.5:  # put a middle sample on the median
            return self.q.solve_for(x, pick(middle), med, rng, free)
        if np.median(v) > self.median[1]:  # too many above: move one across
            return self.q.solve_for(x, pick(np.flatnonzero(v > med)), rng.uniform(lo, med), rng, free)
        return self.q.solve_for(x, pick(np.flatnonzero(v < med)), rng.uniform(med, hi), rng, free)


@dataclass(frozen=True)
class Comparison:
    """A published P-value side: paired Wilcoxon (first vs second, aligned) or Mann-Whitney (two groups).

    `direction` is the sign of the published effect (second minus first), used to add or remove signal.
    """

    name: str
    paired: bool
    first: Quantity
    second: Quantity
    band: tuple[float, float]
    direction: int = 1

    def p_value(self, x: np.ndarray) -> float:
        u, v = self.first.compute(x), self.second.compute(x)
        return wilcoxon_normal_p(u, v) if self.paired else mannwhitney_normal_p(u, v)

    def cost(self, x: np.ndarray) -> float:
        p = max(self.p_value(x), 1e-300)
        lo, hi = self.band
        if p < lo:
            return 1 + math.log10(lo / p)
        return 1 + math.log10(p / hi) if p > hi else 0.0

    def propose(self, x: np.ndarray, rng: np.random.Generator, free: np.ndarray) -> list[tuple[int, float]]:
        movable = np.flatnonzero(self.second.movable(free))
        return [self._retarget(x, rng, free, movable)] if len(movable) else []

    def _retarget(self, x: np.ndarray, rng: np.random.Generator, free: np.ndarray,
                  movable: np.ndarray) -> tuple[int, float]:
        u, v = self.first.compute(x), self.second.compute(x)

        def pick(candidates: np.ndarray) -> int:
            return _pick(rng, np.intersect1d(candidates, movable), movable)

        more_signal = self.p_value(x) > self.band[1]
        if self.paired:  # mirror one pair's change to the wanted side
            d = v - u
            wrong = d * self.direction < 0 if more_signal else d * self.direction > 0
            i = pick(np.flatnonzero(wrong))
            return self.second.solve_for(x, i, u[i] - d[i], rng, free)
        # two groups: move a sample of the second group across the first group's median, or back into it
        centre = np.median(u) * self.direction
        signed = v * self.direction
        if more_signal:  # a sample of the second group short of the first group's median goes past it
            i = pick(np.flatnonzero(signed < centre))
            beyond = v[signed >= centre]
            return self.second.solve_for(x, i, rng.choice(beyond) if len(beyond) else np.median(u), rng, free)
        i = pick(np.flatnonzero(signed > centre))
        return self.second.solve_for(x, i, rng.choice(u), rng, free)


@dataclass
class Problem:
    """Variables with their reporting grid and bounds, the constraints on them, and a plausibility check."""

    x: np.ndarray
    decimals: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    constraints: list = field(default_factory=list)
    plausible: Callable[[np.ndarray, int], bool] = lambda x, var: True  # after a move of x[var]
    frozen: np.ndarray | None = None  # variables already settled (by an earlier, separate problem)
    unmet: list[str] = field(default_factory=list)  # constraints the last solve left violated

    def project(self, var: int, value: float) -> float:
        return float(np.clip(round(value, int(self.decimals[var])), self.lower[var], self.upper[var]))

    def solve(self, rng: np.random.Generator, max_moves: int = 60_000, temperature: float = 0.3,
              strict: bool = True) -> np.ndarray:
        """Annealed local search from `x`; if some constraint is still violated after `max_moves`, raises, or
        when not `strict` returns the last state (`self.unmet` names what it misses).

        A move that adds violation is kept with probability exp(-added / t), t cooling from `temperature` to 0,
        so the search can leave a state where every single move breaks some other table.
        """
        x = np.array([self.project(i, v) for i, v in enumerate(self.x)])
        depends: dict[int, list[int]] = {}
        for k, c in enumerate(self.constraints):
            qs = (c.q,) if isinstance(c, Summary) else (c.first, c.second)
            for var in np.unique(np.concatenate([q.variables() for q in qs])):
                depends.setdefault(int(var), []).append(k)
        costs = np.array([c.cost(x) for c in self.constraints])
        free = np.ones(len(x), bool) if self.frozen is None else ~self.frozen
        for move in range(max_moves):
            t = temperature * (1 - move / max_moves)
            violated = np.flatnonzero(costs > 0)
            if not len(violated):
                self.unmet = []
                return x
            moves = self.constraints[rng.choice(violated)].propose(x, rng, free)
            if not moves or not all(np.isfinite(value) for _, value in moves) or (
                    not free[[var for var, _ in moves]].all()):
                continue
            old = {var: x[var] for var, _ in moves}
            for var, value in moves:
                x[var] = self.project(var, value)
            touched = sorted({k for var in old for k in depends.get(var, [])})
            new = np.array([self.constraints[k].cost(x) for k in touched])
            added = new.sum() - costs[touched].sum()
            if all(self.plausible(x, var) for var in old) and (
                    added <= 0 or rng.random() < np.exp(-added / max(t, 1e-9))):
                costs[touched] = new
            else:
                for var, value in old.items():
                    x[var] = value
        self.unmet = [self.constraints[k].name for k in np.flatnonzero(costs > 0)]
        if strict:
            raise RuntimeError(f"calibration did not converge: {self.unmet}")
        return x


def _pick(rng: np.random.Generator, candidates: np.ndarray, fallback: np.ndarray) -> int:
    """One of `candidates`, or of `fallback` when there is none."""
    return int(rng.choice(candidates if len(candidates) else fallback))


def _miss(stat: float, interval: tuple[float, float]) -> float:
    lo, hi = interval
    scale = max(abs(hi), abs(lo), 0.01)
    if stat < lo:
        return 1 + (lo - stat) / scale
    return 1 + (stat - hi) / scale if stat > hi else 0.0

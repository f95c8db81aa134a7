"""Pairing pre and post measurements per key, counting (never silently dropping) the incomplete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Pairing:
    """`pairs`: key columns, `pre`, `post` (both known), sorted by key.

    `n_missing_pre`: keys with a post value but no pre value; `n_missing_post`: the reverse. Keys
    with neither side known are in neither count.
    """

    pairs: pl.DataFrame
    n_missing_pre: int
    n_missing_post: int

    @property
    def n_pairs(self) -> int:
        return self.pairs.height


def paired_frame(
    pre: pl.DataFrame, post: pl.DataFrame, key: str | Sequence[str], value: str = "value"
) -> Pairing:
    """Full outer join of `pre` and `post` on `key`; a null `value` counts as missing.

    Each side must hold at most one row per key (pick the baseline or nadir before pairing):
    duplicates raise, because a silent choice between them would change the test.
    """
    keys = [key] if isinstance(key, str) else list(key)
    sides = {}
    for name, frame in (("pre", pre), ("post", post)):
        if frame.select(keys).is_duplicated().any():
            raise ValueError(f"{name} has more than one row for some {keys}")
        sides[name] = frame.select(*keys, pl.col(value).cast(pl.Float64).fill_nan(None).alias(name))
    joined = sides["pre"].join(sides["post"], on=keys, how="full", coalesce=True)
    known_pre, known_post = pl.col("pre").is_not_null(), pl.col("post").is_not_null()
    counts = joined.select(
        missing_pre=(~known_pre & known_post).sum(),
        missing_post=(known_pre & ~known_post).sum(),
    ).row(0)
    pairs = joined.filter(known_pre & known_post).sort(keys)
    return Pairing(pairs=pairs, n_missing_pre=int(counts[0]), n_missing_post=int(counts[1]))

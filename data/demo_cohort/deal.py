"""Dealing fixed pools of values out to records: how the generator keeps every published count exact."""


def expand(pool) -> list:
    """A pool as a list of values: lists stay, {value: count} dicts expand."""
    return list(pool) if isinstance(pool, list) else [v for v, n in pool.items() for _ in range(n)]


def deal(rng, members: list[dict], field: str, pool) -> None:
    """Give each member one value of the pool, in random order; members that already hold the field (pinned by
    their role) take their value out of the pool first. The pool must fit the members exactly."""
    values = expand(pool)
    free = []
    for member in members:
        if field in member:
            values.remove(member[field])  # a pinned value missing from its pool is a blueprint error
        else:
            free.append(member)
    if len(values) != len(free):
        raise ValueError(f"pool for {field} has {len(values)} values for {len(free)} records")
    for member, i in zip(free, rng.permutation(len(values))):
        member[field] = values[i]

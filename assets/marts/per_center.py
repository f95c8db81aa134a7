"""The per-patient inputs of the pooled marts, kept per center: after one center re-delivered, a mart recomputes
its statistics over every patient, but the rows they are computed from (cycle 1's draws paired per patient, the
grades of every cycle, ...) only for that center.

`create(con, name, select, core_tables, parameters)` keeps `select`'s rows in `mart_inputs.<name>`, a table of
the warehouse with a `center_id` column, and records per center (audit.build_versions, layer
`mart_inputs.<name>`) what they were computed from: the contents of `core_tables` for that center
(orchestration/versions.py, record_contents) and the query itself. A center whose record differs is deleted
and computed again, alone; a changed query recomputes every center; a center no longer in core.patients is
deleted. The mart reads the rows through a TEMP view `name`, as it read the TEMP table it computed before.

`select` returns `center_id` and reads only the centers of the list parameter `$centers` (a `list_contains` at
each scan of a core table): every row it computes stays within one patient, so computing some centers alone
gives the rows computing all of them gives. The mart_inputs schema is the marts' working storage; the analyst
snapshot does not publish it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from assets.marts.shared import transaction
from orchestration import versions
from orchestration.batches import center_batches
from orchestration.catalog import ensure_schema, relation_exists

if TYPE_CHECKING:
    import duckdb

SCHEMA = "mart_inputs"
# Patients whose rows one query computes (orchestration/batches.py). At 1,000,000 patients in 8 centers the
# cytokine pairs (11.6 M draws grouped into 5.2 M pairs) took 9.9-10.5 s over every center at once, 8.7 s in
# batches of four centers, 7.0 s of two and 5.6 s of one.
PATIENTS_PER_BATCH = 200_000
CENTERS = "list_contains($centers::VARCHAR[], {column})"  # typed: no center at all is an empty list


def in_centers(column: str = "center_id") -> str:
    """SQL: `column` is one of the centers being computed (the $centers parameter)."""
    return CENTERS.format(column=column)


def create(con: duckdb.DuckDBPyConnection, name: str, select: str, core_tables: Sequence[str],
           parameters: Mapping[str, Any], reads: Sequence[str] = ()) -> str:
    """TEMP view `name` over mart_inputs.<name>, the rows of `select` brought up to date (see the module
    docstring); `reads`: the views of this module `select` reads (their rows are computed first). Without any
    recorded contents of `core_tables` (a database core never recorded, e.g. a test's), `name` is a TEMP
    table computed for every center. Returns `name`."""
    patients = con.execute("SELECT center_id, count(*) FROM core.patients GROUP BY ALL ORDER BY 1").fetchall()
    present = [center for center, _ in patients]
    contents = [versions.recorded(con, versions.contents("core", table)) for table in core_tables]
    if not any(contents):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}", {**parameters, "centers": present})
        return name
    contents += [versions.recorded(con, f"{SCHEMA}.{view}") for view in reads]
    table = layer = f"{SCHEMA}.{name}"
    query = versions.digest(select, repr(sorted(parameters.items())))
    wanted = {center: versions.digest(query, *(content.get(center, "") for content in contents))
              for center in present}
    exists = relation_exists(con, table)
    built = versions.recorded(con, layer) if exists else {}
    stale = [center for center in present if built.get(center) != wanted[center]]
    gone = sorted(set(built) - set(present))
    if stale or gone or not exists:
        batches = center_batches([(center, count) for center, count in patients if center in stale],
                                 PATIENTS_PER_BATCH)
        ensure_schema(con, SCHEMA)
        with transaction(con):
            if not exists or not built or len(stale) == len(present):
                first = batches.pop(0) if batches else []  # no patient at all: the table, empty
                con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}", {**parameters, "centers": first})
            else:
                con.execute(f"DELETE FROM {table} WHERE list_contains(?, center_id)", [stale + gone])
            for centers in batches:
                con.execute(f"INSERT INTO {table} BY NAME {select}", {**parameters, "centers": centers})
            versions.forget(con, layer, gone)
            versions.record(con, layer, {center: wanted[center] for center in stale})
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {table}")
    return name

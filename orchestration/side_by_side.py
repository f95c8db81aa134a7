"""Independent statements on one warehouse run side by side, as many at once as DuckDB has threads.

DuckDB runs some work on one core whatever its thread setting: reading a CSV file in file order (landing),
and writing a table small enough to be one row group (most of the snapshot's tables). Each item then goes
through a cursor of the warehouse's connection: a connection of its own to the same database, with its own
transaction and temporary tables, so two items' writes never conflict unless they touch the same table.
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import duckdb

Item = TypeVar("Item")
Result = TypeVar("Result")


def side_by_side(con: "duckdb.DuckDBPyConnection", work: Callable[["duckdb.DuckDBPyConnection", Item], Result],
                 items: Sequence[Item]) -> list[Result]:
    """`work(cursor, item)` for every item, each on a cursor of `con` of its own; the results in the items'
    order, whichever finished first. An item's exception is raised once the items already started finish."""

    def run(item: Item) -> Result:
        cursor = con.cursor()
        try:
            return work(cursor, item)
        finally:
            cursor.close()

    [(threads,)] = con.execute("SELECT current_setting('threads')").fetchall()
    with ThreadPoolExecutor(max_workers=max(1, min(int(threads), len(items)))) as pool:
        return list(pool.map(run, items))

"""The README's example queries, run on the demo's analyst snapshot: each printed output is what the query
returns, so that an answer in the README cannot go stale (issue 17).

An output block lists the columns, then rows; `...` stands for rows left out, and `(N rows)` at the end of a
line gives the full count. The printed rows must appear in the result in that order, and the first and last
printed rows, when no `...` precedes or follows them, must be the result's first and last."""

import re
from pathlib import Path

import duckdb
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The analyst snapshot"
_PAIR = re.compile(r"```sql\n(?P<sql>.*?)```\n```\n(?P<output>.*?)```", re.S)
_COUNT = re.compile(r"\s*\((?P<n>\d+) rows?\)\s*$")


def examples() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    return [(match["sql"], match["output"]) for match in _PAIR.finditer(section)]


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def printed(value) -> str:
    return "NULL" if value is None else str(value)


def test_the_readme_has_its_examples():
    assert len(examples()) >= 5


@pytest.mark.parametrize(("sql", "output"), examples(), ids=lambda text: text.splitlines()[0][:60])
def test_a_readme_example_prints_what_the_query_returns(demo_warehouse, sql, output):
    snapshot = demo_warehouse.parent / "analytics.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as con:
        result = con.sql(sql)
        columns, rows = result.columns, [[printed(value) for value in row] for row in result.fetchall()]
    header, *lines = output.rstrip("\n").splitlines()
    assert cells(header) == columns
    count = None
    expected, gaps = [], []  # gaps[i]: whether `...` precedes expected[i]
    gap = False
    for line in lines:
        found = _COUNT.search(line)
        if found:
            count, line = int(found["n"]), line[:found.start()]
        if line.strip() == "...":
            gap = True
        elif line.strip():
            expected.append(cells(line))
            gaps.append(gap)
            gap = False
    assert count is None or count == len(rows), f"{len(rows)} rows, the README says {count}"
    if not gaps or not gaps[0]:
        assert rows[:1] == expected[:1], "the first row"
    if not gap:  # nothing left out after the last printed row
        assert rows[-1:] == expected[-1:], "the last row"
    position = 0
    for row in expected:
        assert row in rows[position:], f"{row} not in the result (in order): {rows}"
        position = rows.index(row, position) + 1

"""marts.data_queries: the list a data manager works through each morning (docs/data-quality.md).

Every refused delivered row is a query to its center. A query is
- open: the row is in quarantine now (if the center's correction of it still fails, the sentence says so);
- answered: a correction of the row applies (audit.corrections) and the row passed the gate;
- superseded: the finding went away without a correction of its own row: the center re-delivered the file,
  corrected the row it depended on (an assessment refused for its quarantined cycle), or a rule changed.
One row per delivered row and finding, built in DuckDB from quarantine.<table>, audit.superseded_findings and
audit.corrections; it never passes through Python, so it stays cheap at a registry's millions of findings.
"""

import dagster as dg

from assets.landing.assets import POOL
from assets.marts import shared
from assets.validation.gate import ORDER
from assets.validation.store import SUPERSEDED, quarantine_table
from orchestration.catalog import relation_exists
from orchestration.incremental import skip_when_unchanged
from orchestration.resources import WarehouseResource
from schemas.reasons import ERROR

MART = "data_queries"
CORRECTIONS = "audit.corrections"
STATUSES = ("open", "answered", "superseded")
DESCRIPTION = ("Every quarantine finding as a query to its center: open (the row is in quarantine), answered "
               "(a correction applies and the row passed) or superseded (a re-delivery or a rule change made the "
               "finding go away). With the sentence, the delivered and corrected values, the file and row.")
COLUMNS = {
    "status": "open (in quarantine now), answered (a correction of the row applies and it passed) or superseded "
              "(the finding went away otherwise: a re-delivery, a correction of the row it depended on, a rule "
              "change).",
    "center_id": "The center the query goes to.",
    "table_name": "The contract table of the delivered row.",
    "source_file": "The delivered file.",
    "source_row": "The 1-based data row in the delivered file.",
    "source_column": "For a wide lab file, the delivered column; NULL otherwise.",
    "subject_id": "Pseudonymous subject of the row (NULL where the row had no record number).",
    "check_name": "The failed checks, '; '-separated (NULL for an answered query the gate never saw fail).",
    "column_name": "The columns the checks concern, '; '-separated.",
    "delivered_value": "The value(s) as delivered: the corrected fields' delivered text where the row carries "
                       "corrections, else the failing values as the gate read them.",
    "corrected_value": "The corrected value(s) (field: value; '; '-separated) where the row carries corrections.",
    "finding": "The quarantine sentence: what is wrong, naming the file, row, column and value.",
    "corrections": "The queries (query_id in audit.corrections) whose corrections the row carries.",
    "answer": "The center's reason for the corrections.",
    "answered_by": "Who answered.",
    "answered_on": "When the query was answered.",
    "closed_at": "For a superseded query: when the gate stopped giving the finding (UTC).",
}
# The preview's order (shared.table_metadata), and the one to read the table in: open queries first, then
# answered, then superseded; each by center, table, file, row and column. The table is not stored sorted: the
# analyst snapshot's copy is unordered anyway (assets/snapshot/publish.py), and sorting 3.0 M findings at
# 1,000,000 patients with 1 % bad rows spilled past the memory limit (11-18 s for the mart, 4.5 s unsorted).
QUERIES_ORDER = ("CASE status WHEN 'open' THEN 0 WHEN 'answered' THEN 1 ELSE 2 END", "center_id", "table_name",
                 "source_file", "source_row", "source_column", "finding")
PREVIEW_COLUMNS = ("status", "center_id", "source_file", "source_row", "finding")

_QUARANTINE = " UNION ALL ".join(
    f"SELECT table_name, center_id, source_file, source_row, source_column, subject_id, check_name, column_name,"
    f" value, reason FROM {quarantine_table(table)}" for table in ORDER)

QUERY = f"""
WITH row_corrections AS (
    SELECT table_name, center_id, source_file, source_row, source_column,
        string_agg(field || ': ' || coalesce(delivered_value, '(empty)'), '; ' ORDER BY field) AS delivered_value,
        string_agg(field || ': ' || corrected_value, '; ' ORDER BY field) AS corrected_value,
        string_agg(DISTINCT query_id, '; ') AS corrections,
        string_agg(DISTINCT reason, ' | ') AS answer,
        string_agg(DISTINCT answered_by, '; ') AS answered_by,
        max(answered_on) AS answered_on
    FROM {{corrections}}
    WHERE status = 'applied'
    GROUP BY ALL
),
quarantined AS ({_QUARANTINE}),
-- The latest time each refusal was superseded, unless the gate gives it again now (warnings are no queries).
-- An anti join, not NOT EXISTS: DuckDB built the subquery's hash table on every finding of now (3.0 M at
-- 1,000,000 patients, 3.1 s) where it builds this one on the superseded findings (none after a first run).
superseded AS (
    SELECT earlier.* FROM {SUPERSEDED} AS earlier
    ANTI JOIN quarantined AS now
        ON now.center_id = earlier.center_id AND now.source_file = earlier.source_file
        AND now.source_row = earlier.source_row AND now.source_column IS NOT DISTINCT FROM earlier.source_column
        AND now.reason = earlier.reason
    WHERE earlier.severity = '{ERROR}'
    QUALIFY row_number() OVER (PARTITION BY center_id, source_file, source_row, source_column, reason
                               ORDER BY superseded_at DESC) = 1
),
queries AS (
    SELECT 'open' AS status, quarantined.*, NULL::TIMESTAMP AS closed_at FROM quarantined
    UNION ALL
    SELECT 'superseded', table_name, center_id, source_file, source_row, source_column, subject_id, check_name,
        column_name, value, reason, superseded_at
    FROM superseded
)
SELECT
    -- A superseded finding of a row a correction answered was answered, not re-delivered.
    CASE WHEN queries.status = 'superseded' AND answers.table_name IS NOT NULL THEN 'answered'
         ELSE queries.status END AS status,
    queries.center_id, queries.table_name, queries.source_file, queries.source_row, queries.source_column,
    queries.subject_id, queries.check_name, queries.column_name,
    coalesce(answers.delivered_value, queries.value) AS delivered_value,
    answers.corrected_value, queries.reason AS finding, answers.corrections, answers.answer, answers.answered_by,
    answers.answered_on, queries.closed_at
FROM queries
LEFT JOIN row_corrections AS answers
    ON answers.table_name = queries.table_name AND answers.center_id = queries.center_id
    AND answers.source_file = queries.source_file AND answers.source_row = queries.source_row
    AND answers.source_column IS NOT DISTINCT FROM queries.source_column
UNION ALL
-- Corrections of rows the gate never saw fail (declared before the first run): answered all the same.
SELECT 'answered', answers.center_id, answers.table_name, answers.source_file, answers.source_row,
    answers.source_column, NULL, NULL, NULL, answers.delivered_value, answers.corrected_value, NULL,
    answers.corrections, answers.answer, answers.answered_by, answers.answered_on, NULL
FROM row_corrections AS answers
WHERE NOT EXISTS (
    SELECT 1 FROM queries
    WHERE queries.table_name = answers.table_name AND queries.center_id = answers.center_id
      AND queries.source_file = answers.source_file AND queries.source_row = answers.source_row
      AND queries.source_column IS NOT DISTINCT FROM answers.source_column)
"""

# audit.corrections as dbt builds it, empty: for a warehouse whose staging has not run yet.
_NO_CORRECTIONS = ("(SELECT NULL::VARCHAR AS table_name, NULL::VARCHAR AS center_id, NULL::VARCHAR AS source_file,"
                   " NULL::BIGINT AS source_row, NULL::VARCHAR AS source_column, NULL::VARCHAR AS field,"
                   " NULL::VARCHAR AS delivered_value, NULL::VARCHAR AS corrected_value, NULL::VARCHAR AS query_id,"
                   " NULL::VARCHAR AS reason, NULL::VARCHAR AS answered_by, NULL::DATE AS answered_on,"
                   " NULL::VARCHAR AS status WHERE false)")


def queries_sql(con) -> str:
    return QUERY.format(corrections=CORRECTIONS if relation_exists(con, CORRECTIONS) else _NO_CORRECTIONS)


def findings_fingerprint(con) -> str:
    """What the mart is computed from, as row counts and order-free sums of row hashes: the findings, the
    superseded ones and the corrections. A re-delivery with the same rows changes none of them."""
    relations = [*(quarantine_table(table) for table in ORDER), SUPERSEDED,
                 *([CORRECTIONS] if relation_exists(con, CORRECTIONS) else [])]
    return "|".join(f"{relation}={con.execute(f'SELECT count(*), sum(hash(t)) FROM {relation} AS t').fetchall()[0]}"
                    for relation in relations)


@dg.asset(
    key=[shared.SCHEMA, MART],
    group_name="marts",
    deps=[*(dg.AssetKey(quarantine_table(table).split(".")) for table in ORDER),
          dg.AssetKey(CORRECTIONS.split("."))],
    kinds={"duckdb"},
    pool=POOL,
    description=DESCRIPTION,
)
@skip_when_unchanged(f"{shared.SCHEMA}.{MART}", ("assets/marts/data_queries.py",), after=None,
                     extra=findings_fingerprint)
def data_queries(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        shared.write_query(con, MART, queries_sql(con), DESCRIPTION, COLUMNS)
        counts = dict(con.execute(f"SELECT status, count(*) FROM {shared.SCHEMA}.{MART} GROUP BY ALL").fetchall())
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", QUERIES_ORDER, columns=PREVIEW_COLUMNS,
                                         **{f"{status}_queries": counts.get(status, 0) for status in STATUSES})
    return dg.MaterializeResult(metadata=metadata)

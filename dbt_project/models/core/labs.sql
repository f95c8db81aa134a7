-- The validated labs: the candidate rows (intermediate.int_labs) the validation gate (assets/validation/,
-- docs/data-quality.md) did not refuse, with its warnings; refused rows are in quarantine.labs.
-- A view of the rows the gate marked rather than a copy of them (macros/validated.sql, the other tables):
-- a registry's lab values, most of its rows, are then stored once between raw and the analyst snapshot, which
-- stores the view's rows as its table core.labs (assets/snapshot/publish.py). At 1,000,000 patients copying
-- them took 29 s (43 M rows); marking them costs the gate ~5 s (an UPDATE of every row and its commit:
-- docs/scale.md). A row not yet judged (refused NULL) is not shown.
-- What it shows changes with the gate's findings, which the marks are made from: the view is versioned (and the
-- centers' rows fingerprinted again, orchestration/versions.py) when they change.
-- depends_on: {{ source('quarantine', 'labs') }} {{ source('audit', 'labs_warnings') }}
{{ config(materialized='view', pre_hook=[]) }}
select * exclude (refused)
from {{ ref('int_labs').include(database=False) }}
where refused = false

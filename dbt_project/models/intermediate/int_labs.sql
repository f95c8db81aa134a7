-- Candidate rows of core.labs, before the validation gate (assets/validation/), with the gate's verdict on each.
-- One row per delivered lab value, pseudonymised, in canonical units (long layout). A table (staging.stg_labs,
-- the view it reads, stores nothing): the gate reads its rows as they are, without copying them first, and marks
-- them rather than core copying those it passed: `refused` and `warnings` are NULL until the gate has judged the
-- row (a rebuilt center's rows are judged again), and core.labs is the view of the rows it did not refuse.
select
    *,
    cast(null as boolean) as refused,
    cast(null as varchar) as warnings
from {{ ref('stg_labs') }}
where {{ run_centers() }}

-- Candidate rows of core.labs, before the validation gate (assets/validation/); core.labs keeps those it
-- did not quarantine.
-- One row per delivered lab value, pseudonymised, in canonical units (long layout). A table (staging.stg_labs,
-- the view it reads, stores nothing): the gate reads its rows as they are, without copying them first.
select *
from {{ ref('stg_labs') }}
where {{ run_centers() }}

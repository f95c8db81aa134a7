{{ config(materialized='view') }}
-- Candidate rows of core.labs, before the validation gate (assets/validation/); core.labs keeps those it
-- did not quarantine.
-- One row per delivered lab value, pseudonymised, in canonical units (long layout).
select
    subject.subject_id,
    lab.* exclude (mrn)
from {{ ref('stg_labs') }} as lab
left join {{ ref('int_subject_keys') }} as subject using (center_id, mrn)

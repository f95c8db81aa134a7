{{ config(materialized='view') }}
-- Candidate rows of core.assessments, before the validation gate (assets/validation/); core.assessments keeps those it
-- did not quarantine.
-- One row per delivered bone-marrow assessment, pseudonymised (MRD courses, frontline time points).
-- core.cycles carries each cycle's pre_cycle and end_of_cycle assessment already interpreted.
select *
from {{ ref('stg_assessments') }}

{{ config(materialized='view') }}
-- Candidate rows of core.labs, before the validation gate (assets/validation/); core.labs keeps those it
-- did not quarantine.
-- One row per delivered lab value, pseudonymised, in canonical units (long layout).
select *
from {{ ref('stg_labs') }}

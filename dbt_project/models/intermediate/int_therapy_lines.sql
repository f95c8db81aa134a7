{{ config(materialized='view') }}
-- Candidate rows of core.therapy_lines, before the validation gate (assets/validation/); core.therapy_lines keeps
-- those it did not quarantine.
-- One row per line (block) of therapy other than blinatumomab, pseudonymised.
select *
from {{ ref('stg_therapy_lines') }}

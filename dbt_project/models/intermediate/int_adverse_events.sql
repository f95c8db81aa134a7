{{ config(materialized='view') }}
-- Candidate rows of core.adverse_events, before the validation gate (assets/validation/); core.adverse_events
-- keeps those it did not quarantine.
-- One row per cycle and solicited toxicity term, pseudonymised; grade NULL = not assessed.
select *
from {{ ref('stg_adverse_events') }}

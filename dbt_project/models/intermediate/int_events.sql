{{ config(materialized='view') }}
-- Candidate rows of core.events, before the validation gate (assets/validation/); core.events keeps those it
-- did not quarantine.
-- One row per follow-up event (relapse, death, HSCT, CAR-T, second cancer, last contact), pseudonymised.
select *
from {{ ref('stg_events') }}

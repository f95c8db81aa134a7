{{ config(materialized='view') }}
-- Candidate rows of core.assessments, before the validation gate (assets/validation/); core.assessments keeps those it
-- did not quarantine.
-- One row per delivered bone-marrow assessment, pseudonymised (MRD courses, frontline time points).
-- core.cycles carries each cycle's pre_cycle and end_of_cycle assessment already interpreted.
select
    subject.subject_id,
    assessment.* exclude (mrn)
from {{ ref('stg_assessments') }} as assessment
left join {{ ref('int_subject_keys') }} as subject using (center_id, mrn)

{{ config(materialized='view') }}
-- Candidate rows of core.cycles, before the validation gate (assets/validation/); core.cycles keeps those it
-- did not quarantine.
-- One row per delivered blinatumomab cycle, pseudonymised, with its derived status, response, regimen
-- and Table 3 column.
with patient as (
    -- The patient's age inputs; a patient delivered more than once gets no age (which row would be right?).
    select
        center_id, subject_id, any_value(birth_date) as birth_date,
        any_value(age_at_diagnosis_months) as age_at_diagnosis_months, any_value(diagnosis_date) as diagnosis_date
    from {{ ref('stg_patients') }}
    group by center_id, subject_id
    having count(*) = 1
)

select
    cycle.subject_id,
    cycle.center_id,
    cycle.source_file,
    cycle.source_row,
    cycle.cycle_no,
    cycle.cycle_no_raw,
    cycle.start_date,
    cycle.start_date_raw,
    cycle.end_date,
    cycle.end_date_raw,
    cycle.infusion_length as infusion_days,
    cycle.infusion_days_raw,
    case
        when cycle.infusion_length <= 17 then '14d'
        when cycle.infusion_length > 17 then '21_28d'
    end as regimen,
    cycle.dose_start,
    cycle.dose_start_raw,
    cycle.dose_target,
    cycle.dose_target_raw,
    cycle.dose_unit,
    cycle.dose_unit_raw,
    cycle.step_up_date,
    cycle.step_up_date_raw,
    cycle.weight_kg,
    cycle.weight_kg_raw,
    cycle.bsa_m2,
    cycle.bsa_m2_raw,
    cycle.bridging_chemo,
    cycle.bridging_chemo_raw,
    cycle.cyclophosphamide,
    cycle.cyclophosphamide_raw,
    cycle.cyclophosphamide_dose_mg_m2,
    cycle.cyclophosphamide_dose_mg_m2_raw,
    -- Age at this cycle's start (the ICANS comparison is by cycle): from the birth date, before it is dropped.
    {{ age_months('patient.birth_date', 'patient.age_at_diagnosis_months', 'patient.diagnosis_date',
                  'cycle.start_date') }} as age_months_at_start,
    response.pre_blasts_pct,
    response.pre_mrd_pct,
    response.pre_mrd_pct_raw,
    response.status_at_start,
    response.response_date,
    response.eoc_blasts_pct,
    response.eoc_mrd_pct,
    response.eoc_mrd_pct_raw,
    response.response,
    response.mrd_negative_after,
    -- The paper's Table 3 columns (74 + 51 cycles): a first cycle goes by its start status; every later
    -- cycle counts as given "in patients achieving MRD negativity", including second cycles of
    -- non-responders, the only reading that reproduces both column totals.
    case
        when cycle.cycle_no = 1 and response.status_at_start in ('rr', 'cr_mrdpos') then 'rr_mrdpos'
        when cycle.cycle_no = 1 and response.status_at_start = 'cr_mrdneg' then 'mrdneg'
        when cycle.cycle_no > 1 then 'mrdneg'
    end as table3_group,
    cycle.parse_errors
from (
    -- From the dates; where one is missing, the length the center delivered (a report's "28 days").
    select *, coalesce(end_date - start_date + 1, infusion_days) as infusion_length from {{ ref('stg_cycles') }}
) as cycle
left join {{ ref('int_cycle_response') }} as response using (center_id, source_file, source_row)
left join patient using (center_id, subject_id)

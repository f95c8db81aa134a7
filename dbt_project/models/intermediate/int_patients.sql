{{ config(materialized='view') }}
-- Candidate rows of core.patients, before the validation gate (assets/validation/); core.patients keeps those it
-- did not quarantine.
-- The analysts' patient table: one row per delivered patient, pseudonymised. Age is computed here, from
-- the birth date that never leaves staging.
with patient as (
    select
        patient.*,
        infusion.first_infusion_date,
        coalesce(infusion.n_cycles, 0) as n_cycles
    from {{ ref('stg_patients') }} as patient
    left join {{ ref('int_first_infusion') }} as infusion using (center_id, subject_id)
),

first_cycle as (
    -- A cycle 1 delivered twice leaves the status unknown where the copies disagree (the gate quarantines
    -- both); one row per patient, whatever was delivered.
    select
        cycle.center_id,
        stg.subject_id,
        case when count(distinct cycle.status_at_start) <= 1 then any_value(cycle.status_at_start) end
            as status_at_start
    from {{ ref('int_cycle_response') }} as cycle
    inner join {{ ref('stg_cycles') }} as stg using (center_id, source_file, source_row)
    where stg.cycle_no = 1
    group by cycle.center_id, stg.subject_id
),

mrd_negativity as (
    select stg.center_id, stg.subject_id, bool_or(cycle.mrd_negative_after) as mrd_negative_any_cycle
    from {{ ref('int_cycle_response') }} as cycle
    inner join {{ ref('stg_cycles') }} as stg using (center_id, source_file, source_row)
    group by stg.center_id, stg.subject_id
),

flagged as (
    select
        patient.*,
        first_cycle.status_at_start as status_at_first_cycle,
        mrd_negativity.mrd_negative_any_cycle,
        {{ age_months('patient.birth_date', 'patient.age_at_diagnosis_months', 'patient.diagnosis_date',
                      'patient.first_infusion_date') }} as age_months,
        case
            when patient.birth_date is not null then 'birth_date'
            when patient.age_at_diagnosis_months is not null and patient.diagnosis_date is not null
                and patient.first_infusion_date is not null then 'age_at_diagnosis_plus_interval'
            when patient.age_at_diagnosis_months is not null then 'age_at_diagnosis'
        end as age_source
    from patient
    left join first_cycle using (center_id, subject_id)
    left join mrd_negativity using (center_id, subject_id)
)

select
    subject_id,
    center_id,
    source_file,
    source_row,
    center_name,
    study,
    sex,
    age_months,
    -- Negative when the delivered diagnosis date precedes the birth date (the gate refuses it).
    case
        when birth_date is not null then date_sub('month', birth_date, diagnosis_date)
        else age_at_diagnosis_months
    end as age_at_diagnosis_months,
    age_source,
    diagnosis_date,
    diagnosis_date_raw,
    indication,
    case
        when indication in ('relapse', 'induction_failure') then 'rr'
        when indication = 'mrd_positive' then 'cr_mrdpos'
        when indication = 'chemo_delay' and status_at_first_cycle = 'cr_mrdpos' then 'cr_mrdpos'
        when indication = 'chemo_delay' and status_at_first_cycle is not null then 'cr_mrdneg'
    end as indication_group,
    status_at_first_cycle,
    mrd_negative_any_cycle,
    first_infusion_date,
    n_cycles,
    protocol,
    array_to_string(cytogenetics, ';') as cytogenetics,
    cytogenetics_raw,
    {%- for flag in ['bcr_abl1', 'kmt2ar', 'tcf3_hlf', 'etv6_runx1', 'tcf3_pbx1', 'znf384r', 'pax5r', 'hypodiploidy'] %}
    list_contains(cytogenetics, '{{ flag }}') as {{ flag }},
    {%- endfor %}
    -- Poor risk per CCCG-ALL-2015 (KMT2Ar, BCR-ABL1, TCF3-HLF) and hypodiploidy; NULL when not tested.
    case
        when list_has_any(cytogenetics, ['kmt2ar', 'bcr_abl1', 'tcf3_hlf', 'hypodiploidy']) then 'poor'
        when cytogenetics is not null then 'standard'
    end as cytogenetic_risk,
    -- Birth-date errors are reported without the value, which must not reach core.
    parse_errors
from flagged

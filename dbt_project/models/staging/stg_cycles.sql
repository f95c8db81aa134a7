-- One row per delivered cycle row (current file versions): dates in the center's format, doses in
-- ug/m2/day, Y/N as booleans. The derived status and response live in int_cycle_response.
with delivered as (
    {{ current_rows_with_subject_id('cycles') }}
),

parsed as (
    select
        subject_id,
        delivered.center_id,
        source_file,
        source_row,
        try_cast({{ clean_text('cycle_no') }} as integer) as cycle_no,
        {{ clean_text('cycle_no') }} as cycle_no_raw,
        {{ parse_date('start_date') }} as start_date,
        {{ clean_text('start_date') }} as start_date_raw,
        {{ parse_date('end_date') }} as end_date,
        {{ clean_text('end_date') }} as end_date_raw,
        try_cast({{ clean_text('infusion_days') }} as integer) as infusion_days,
        {{ clean_text('infusion_days') }} as infusion_days_raw,
        {{ parse_number('dose_start') }} as dose_start,
        {{ clean_text('dose_start') }} as dose_start_raw,
        {{ parse_number('dose_target') }} as dose_target,
        {{ clean_text('dose_target') }} as dose_target_raw,
        -- The row's unit, else the center's declared unit, else the contract's default.
        coalesce(
            {{ mapped_code('dose_unit') }},
            declared.unit,
            'ug/m2/day'
        ) as dose_unit_raw,
        {{ parse_date('step_up_date') }} as step_up_date,
        {{ clean_text('step_up_date') }} as step_up_date_raw,
        {{ parse_number('weight_kg') }} as weight_kg,
        {{ clean_text('weight_kg') }} as weight_kg_raw,
        {{ parse_number('bsa_m2') }} as bsa_m2,
        {{ clean_text('bsa_m2') }} as bsa_m2_raw,
        {{ mapped_code('bridging_chemo') }} as bridging_chemo_raw,
        {{ mapped_code('cyclophosphamide') }} as cyclophosphamide_raw,
        {{ parse_number('cyclophosphamide_dose_mg_m2') }} as cyclophosphamide_dose_mg_m2,
        {{ clean_text('cyclophosphamide_dose_mg_m2') }} as cyclophosphamide_dose_mg_m2_raw
    from delivered{{ code_map_joins('cycles', ['dose_unit', 'bridging_chemo', 'cyclophosphamide']) }}
    {{ declared_unit_join('cycles', "'dose_start'") }}
),

interpreted as (
    select
        parsed.*,
        -- No conversion in the seed: the doses become NULL and dose_unit (NULL) reports it.
        conversion.factor as dose_factor,
        conversion.to_unit as dose_unit,
        {{ parse_yes_no('bridging_chemo_raw') }} as bridging_chemo,
        {{ parse_yes_no('cyclophosphamide_raw') }} as cyclophosphamide
    from parsed
    left join {{ ref('unit_conversions') }} as conversion
        on parsed.dose_unit_raw = conversion.from_unit and conversion.to_unit = 'ug/m2/day'
)

select
    subject_id,
    center_id,
    source_file,
    source_row,
    cycle_no,
    cycle_no_raw,
    start_date,
    start_date_raw,
    end_date,
    end_date_raw,
    infusion_days,
    infusion_days_raw,
    -- Converted here; parse_errors below still sees the delivered numbers (FROM columns win over aliases).
    dose_start * dose_factor as dose_start,
    dose_start_raw,
    dose_target * dose_factor as dose_target,
    dose_target_raw,
    dose_unit,
    dose_unit_raw,
    step_up_date,
    step_up_date_raw,
    weight_kg,
    weight_kg_raw,
    bsa_m2,
    bsa_m2_raw,
    bridging_chemo,
    bridging_chemo_raw,
    cyclophosphamide,
    cyclophosphamide_raw,
    cyclophosphamide_dose_mg_m2,
    cyclophosphamide_dose_mg_m2_raw,
    {{ parse_errors({
        'cycle_no': 'not_an_integer',
        'start_date': 'invalid_date',
        'end_date': 'invalid_date',
        'infusion_days': 'not_an_integer',
        'dose_start': 'not_a_number',
        'dose_target': 'not_a_number',
        'dose_unit': 'unknown_unit',
        'step_up_date': 'invalid_date',
        'weight_kg': 'not_a_number',
        'bsa_m2': 'not_a_number',
        'bridging_chemo': 'unknown_code',
        'cyclophosphamide': 'unknown_code',
        'cyclophosphamide_dose_mg_m2': 'not_a_number',
    }) }} as parse_errors
from interpreted

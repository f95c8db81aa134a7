-- One row per delivered patient row (current file versions), typed, coded and keyed by subject_id. birth_date
-- is kept here only to age the patient (int_patients, int_cycles); the name is dropped: nothing needs it.
with delivered as (
    {{ current_rows_with_subject_id('patients') }}
),

parsed as (
    select
        subject_id,
        delivered.center_id,
        source_file,
        source_row,
        center_name,
        study,
        {{ parse_date('birth_date') }} as birth_date,
        {{ clean_text('birth_date') }} as birth_date_raw,
        {{ parse_number('age_at_diagnosis_months') }} as age_at_diagnosis_months,
        {{ clean_text('age_at_diagnosis_months') }} as age_at_diagnosis_months_raw,
        {{ mapped_code('sex') }} as sex,
        {{ parse_date('diagnosis_date') }} as diagnosis_date,
        {{ clean_text('diagnosis_date') }} as diagnosis_date_raw,
        {{ mapped_code('indication') }} as indication,
        -- The whole delivered value is mapped first (a karyotype text may itself contain ';'), then
        -- each ';'-separated element.
        {{ mapped_code('cytogenetics') }} as cytogenetics_whole,
        {{ clean_text('cytogenetics') }} as cytogenetics_raw,
        {{ clean_text('protocol') }} as protocol
    from delivered{{ code_map_joins('patients', ['sex', 'indication', 'cytogenetics']) }}
),

cytogenetic_elements as (
    select center_id, source_file, source_row, trim(unnest(string_split(cytogenetics_whole, ';'))) as element
    from parsed
),

cytogenetic_codes as (
    select
        element.center_id,
        element.source_file,
        element.source_row,
        list_sort(list(distinct coalesce(code_map.code, element.element))) as cytogenetics
    from cytogenetic_elements as element
    left join {{ source('raw', 'center_code_maps') }} as code_map
        on element.center_id = code_map.center_id
        and code_map.table_name = 'patients'
        and code_map.field = 'cytogenetics'
        and element.element = code_map.source_code
    where element.element <> ''
    group by all
)

select
    parsed.* exclude (cytogenetics_whole),
    cytogenetic_codes.cytogenetics,
    {{ parse_errors({
        'birth_date': 'invalid_date',
        'age_at_diagnosis_months': 'not_a_number',
        'diagnosis_date': 'invalid_date',
    }) }} as parse_errors
from parsed
left join cytogenetic_codes using (center_id, source_file, source_row)

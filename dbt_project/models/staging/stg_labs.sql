-- One row per delivered lab value (current file versions; wide files were unpivoted on landing), in the
-- analyte's canonical unit (seed analytes), with detection markers and the kit's floor interpreted.
-- A view, over every center: a registry's lab rows are most of its rows, and intermediate.int_labs (a table,
-- per center) is where they are first stored after raw, read by the validation gate and by core.labs.
{{ config(materialized='view', pre_hook=[]) }}
with delivered as (
    {{ current_rows_with_subject_id('labs', every_center=true) }}
),

parsed as (
    select
        subject_id,
        delivered.center_id,
        source_file,
        source_row,
        source_column,
        try_cast({{ clean_text('cycle_no') }} as integer) as cycle_no,
        {{ clean_text('cycle_no') }} as cycle_no_raw,
        {{ mapped_code('timepoint') }} as timepoint,
        {{ parse_date('sample_date') }} as sample_date,
        {{ clean_text('sample_date') }} as sample_date_raw,
        {{ mapped_code('specimen') }} as specimen,
        {{ mapped_code('analyte') }} as analyte,
        {{ marked_measurement('value', 'value') }},
        {{ mapped_code('unit') }} as unit_delivered
    from delivered{{ code_map_joins('labs', ['timepoint', 'specimen', 'analyte', 'unit']) }}
),

with_unit as (
    select
        parsed.* exclude (unit_delivered),
        analytes.category,
        analytes.canonical_unit,
        -- The row's unit, else the center's declared unit for the analyte, else the canonical unit.
        coalesce(
            parsed.unit_delivered,
            declared.unit,
            analytes.canonical_unit
        ) as unit_raw
    from parsed
    left join {{ ref('analytes') }} as analytes using (analyte)
    {{ declared_unit_join('labs', 'parsed.analyte', row='parsed') }}
),

interpreted as (
    select
        -- `70.7%` is read as 70.7 only where the analyte is a percentage; elsewhere it does not parse.
        with_unit.* replace (
            case when with_unit.value_percent_sign and with_unit.canonical_unit is distinct from '%' then null
                else with_unit.value
            end as value
        ),
        -- No conversion in the seed (or an unknown analyte): value NULL, reported as unknown_unit.
        conversion.factor as unit_factor,
        conversion.to_unit as unit,
        try_cast(lod.detection_limit as double) as detection_limit
    from with_unit
    left join {{ ref('unit_conversions') }} as conversion
        on with_unit.unit_raw = conversion.from_unit and with_unit.canonical_unit = conversion.to_unit
    left join {{ source('raw', 'center_detection_limits') }} as lod
        on with_unit.center_id = lod.center_id
        and lod.table_name = 'labs'
        and with_unit.analyte = lod.analyte
)

select
    subject_id,
    center_id,
    source_file,
    source_row,
    source_column,
    cycle_no,
    cycle_no_raw,
    timepoint,
    sample_date,
    sample_date_raw,
    specimen,
    analyte,
    category,
    -- Converted here; parse_errors below still sees the delivered number (FROM columns win over aliases).
    value * unit_factor as value,
    unit,
    value_raw,
    unit_raw,
    -- At or under the kit's floor counts as below the limit of detection, however it was written.
    value_below_lod or coalesce(value * unit_factor <= detection_limit, false) as below_lod,
    value_above_uloq as above_uloq,
    detection_limit,
    {{ parse_errors({
        'cycle_no': 'not_an_integer',
        'sample_date': 'invalid_date',
        'value': 'not_a_measurement',
        'unit': 'unknown_unit',
    }) }} as parse_errors
from interpreted

-- One row per delivered line (block) of therapy other than blinatumomab (current file versions). Dates are
-- often unknown (a case report names the blocks, not when they ran) and then stay NULL.
with delivered as (
    {{ current_rows_with_subject_id('therapy_lines') }}
),

parsed as (
    select
        subject_id,
        delivered.center_id,
        source_file,
        source_row,
        try_cast({{ clean_text('line_no') }} as integer) as line_no,
        {{ clean_text('line_no') }} as line_no_raw,
        {{ mapped_code('phase') }} as phase,
        {{ clean_text('regimen') }} as regimen,
        {{ parse_date('start_date') }} as start_date,
        {{ clean_text('start_date') }} as start_date_raw,
        {{ parse_date('end_date') }} as end_date,
        {{ clean_text('end_date') }} as end_date_raw,
        {{ clean_text('protocol') }} as protocol,
        {{ clean_text('detail') }} as detail
    from delivered{{ code_map_joins('therapy_lines', ['phase']) }}
)

select
    *,
    {{ parse_errors({
        'line_no': 'not_an_integer',
        'start_date': 'invalid_date',
        'end_date': 'invalid_date',
    }) }} as parse_errors
from parsed

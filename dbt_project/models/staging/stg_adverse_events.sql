-- One row per delivered toxicity-form row (cycle and solicited term), current file versions. A blank
-- grade means not assessed and stays NULL, apart from grade 0 (did not occur).
with delivered as (
    {{ current_rows_with_subject_id('adverse_events') }}
),

parsed as (
    select
        subject_id,
        delivered.center_id,
        source_file,
        source_row,
        try_cast({{ clean_text('cycle_no') }} as integer) as cycle_no,
        {{ clean_text('cycle_no') }} as cycle_no_raw,
        {{ mapped_code('term') }} as term,
        try_cast({{ clean_text('grade') }} as integer) as grade,
        {{ clean_text('grade') }} as grade_raw,
        {{ parse_date('onset_date') }} as onset_date,
        {{ clean_text('onset_date') }} as onset_date_raw,
        {{ clean_text('description') }} as description
    from delivered{{ code_map_joins('adverse_events', ['term']) }}
)

select
    *,
    {{ parse_errors({
        'cycle_no': 'not_an_integer',
        'grade': 'not_an_integer',
        'onset_date': 'invalid_date',
    }) }} as parse_errors
from parsed

-- One row per delivered follow-up event (current file versions).
with delivered as (
    {{ current_rows_with_subject_id('events') }}
),

parsed as (
    select
        subject_id,
        delivered.center_id,
        source_file,
        source_row,
        {{ mapped_code('event_type') }} as event_type,
        {{ parse_date('event_date') }} as event_date,
        {{ clean_text('event_date') }} as event_date_raw,
        {{ mapped_code('relapse_site') }} as relapse_site,
        {{ mapped_code('cd19_status') }} as cd19_status,
        {{ clean_text('death_cause') }} as death_cause,
        {{ clean_text('detail') }} as detail
    from delivered{{ code_map_joins('events', ['event_type', 'relapse_site', 'cd19_status']) }}
)

select
    *,
    {{ parse_errors({'event_date': 'invalid_date'}) }} as parse_errors
from parsed

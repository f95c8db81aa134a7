{{ config(materialized='table', schema='audit', pre_hook=[]) }}

-- Every declared correction (raw.center_corrections) against the current version of the delivered row it
-- answers: applied when the row still holds the delivered value the query was about, stale when the row
-- now holds another value or is gone, refused when the declaration itself is invalid. Rebuilt whole with
-- every staging run: corrections are few, and the staging models read the applied ones from here
-- (macros/current_rows.sql). Only the rows a correction names are read from raw.
with declared as (
    select * from {{ source('raw', 'center_corrections') }}
),

current_files as (
    select center_id, source_file, file_sha256 from {{ source('raw', 'current_files') }}
),

named_rows as (
    {%- for table_name in corrected_tables() %}
    select
        '{{ table_name }}' as table_name,
        delivered.center_id,
        delivered.source_file,
        delivered.source_row,
        delivered.source_column,
        delivered.file_sha256,
        to_json(delivered) as cells
    from {{ source('raw', table_name) }} as delivered
    inner join current_files using (center_id, source_file, file_sha256)
    where exists (
        select 1 from declared
        where declared.table_name = '{{ table_name }}'
            and declared.center_id = delivered.center_id
            and declared.source_file = delivered.source_file
            and declared.source_row = delivered.source_row
    )
    union all
    {%- endfor %}
    select
        null::varchar as table_name, null::varchar as center_id, null::varchar as source_file,
        null::bigint as source_row, null::varchar as source_column, null::varchar as file_sha256,
        null::json as cells
    where false
),

matched as (
    select
        declared.*,
        named_rows.file_sha256,
        refusal is null and named_rows.cells is not null as matched_row,
        nullif(trim(json_extract_string(named_rows.cells, declared.field)), '') as current_value,
        current_files.file_sha256 is not null as file_delivered
    from declared
    left join named_rows
        on declared.table_name = named_rows.table_name
        and declared.center_id = named_rows.center_id
        and declared.source_file = named_rows.source_file
        and declared.source_row = named_rows.source_row
        and named_rows.source_column is not distinct from declared.source_column
    left join current_files
        on declared.center_id = current_files.center_id
        and declared.source_file = current_files.source_file
)

-- The columns in audit.corrections' published order (sqlfluff's ST06 would put matched_row first).
select  -- noqa: ST06
    center_id,
    query_id,
    corrections_file,
    entry,
    table_name,
    source_file,
    source_row,
    source_column,
    field,
    delivered_value,
    corrected_value,
    current_value,
    reason,
    answered_by,
    answered_on,
    case
        when refusal is not null then 'refused'
        when matched_row and (current_value is not distinct from delivered_value) then 'applied'
        else 'stale'
    end as status,
    matched_row,
    file_sha256,
    case
        when refusal is not null then refusal
        when not file_delivered
            then
                'data/corrections/' || corrections_file || ' entry ' || entry || ' (query ' || query_id || '): '
                || center_id || ' has no current delivery of ' || source_file || '; the correction waits for it'
        when not matched_row
            then
                'data/corrections/' || corrections_file || ' entry ' || entry || ' (query ' || query_id || '): '
                || center_id || '/' || source_file || ' has no row ' || source_row
                || coalesce(' with column ' || source_column, '')
                || ' in its current version; the row it corrected is gone (re-delivered?)'
        when (current_value is distinct from delivered_value) then
            'data/corrections/' || corrections_file || ' entry ' || entry || ' (query ' || query_id || '): '
            || center_id || '/' || source_file || ' row ' || source_row || ' now holds ' || field || ' '
            || coalesce('''' || current_value || '''', 'empty') || ', not the delivered '
            || coalesce('''' || delivered_value || '''', 'empty') || ' the query was about; not applied'
    end as problem
from matched

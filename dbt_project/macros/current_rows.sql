{#- The rows of raw.<table_name> from the current version of each file (raw.current_files), with the
    delivering center's settings for that table (date_format, decimal, study). Earlier versions of a
    re-delivered file stay in raw but are never read. Only the run's centers (macros/centers.sql). -#}
{% macro current_rows(table_name) -%}
    select
        delivered.*,
        settings.center_name,
        settings.study,
        settings.date_format,
        settings.decimal
    from {{ source('raw', table_name) }} as delivered
    inner join {{ source('raw', 'current_files') }} as current_files
        using (center_id, source_file, file_sha256)
    left join {{ source('raw', 'center_settings') }} as settings
        on settings.center_id = delivered.center_id
        and settings.table_name = '{{ table_name }}'
    where {{ run_centers('delivered.center_id') }}
{%- endmacro %}

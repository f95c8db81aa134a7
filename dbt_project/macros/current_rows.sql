{#- The rows of raw.<table_name> from the current version of each file (raw.current_files), with the
    applied corrections in place of the delivered text they answer (macros/corrections.sql) and the
    delivering center's settings for that table (date_format, decimal, study). Earlier versions of a
    re-delivered file stay in raw but are never read. Only the run's centers (macros/centers.sql), or with
    `every_center` all of them: a view keeps no run's list, its reader filters (int_labs over stg_labs). -#}
{% macro current_rows(table_name, every_center=false) -%}
    {#- The ref is taken whether or not a field is corrected: dbt records dependencies while parsing. -#}
    {%- set corrections = ref('corrections') -%}
    {%- set fields = corrected_fields(table_name) -%}
    select
        delivered.*{{ corrected_select(fields) }},
        settings.center_name,
        settings.study,
        settings.date_format,
        settings.decimal
    from {{ source('raw', table_name) }} as delivered
    -- A semi join: it keeps the delivered rows' estimate, where an inner join on three keys made DuckDB guess
    -- a few rows and build its hash table on every lab value instead of the subject keys (counting
    -- staging.stg_labs took 2.0 s against 0.55 s on 100,000 patients).
    semi join {{ source('raw', 'current_files') }} as current_files
        using (center_id, source_file, file_sha256)
    left join {{ source('raw', 'center_settings') }} as settings
        on settings.center_id = delivered.center_id
        and settings.table_name = '{{ table_name }}'
    {{- corrections_join(table_name, fields, corrections) }}
    where {{ 'true' if every_center else run_centers('delivered.center_id') }}
{%- endmacro %}


{#- current_rows with each row's pseudonymous subject_id from stg_subject_keys (NULL where the row has no
    mrn): what every staging model reads, so that the record number stops in staging. The keys are computed
    once there: the pseudonym UDF is a Python call, and a join on a table keeps the scan parallel. -#}
{% macro current_rows_with_subject_id(table_name, every_center=false) -%}
    select current_rows.*, subject_keys.subject_id
    from ({{ current_rows(table_name, every_center) }}) as current_rows
    left join {{ ref('stg_subject_keys') }} as subject_keys
        on subject_keys.center_id = current_rows.center_id and subject_keys.mrn = trim(current_rows.mrn)
{%- endmacro %}

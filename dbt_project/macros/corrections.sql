{#- The centers' corrections (answers to data queries, assets/landing/corrections.py) as compile-time facts:
    which contract tables, and which fields of a table, a valid correction names. Staging generates SQL for
    those only, so that a table nobody corrected costs nothing extra. -#}
{% macro corrected_tables() -%}
    {%- set query -%}
        select distinct table_name from {{ source('raw', 'center_corrections') }} where refusal is null order by 1
    {%- endset -%}
    {{ return(compile_time_values(query)) }}
{%- endmacro %}


{% macro corrected_fields(table_name) -%}
    {%- set query -%}
        select distinct field from {{ source('raw', 'center_corrections') }}
        where refusal is null and table_name = '{{ table_name }}' order by 1
    {%- endset -%}
    {{ return(compile_time_values(query)) }}
{%- endmacro %}


{#- The delivered row's fields with the applied corrections (audit.corrections, status applied) in place of
    the delivered text: a SELECT list replacing the corrected fields of `row` (empty when none is corrected).
    The corrected text is then read exactly as a delivered one (parsed, mapped, gated). -#}
{% macro corrected_select(fields, row='delivered') -%}
    {%- if fields %} replace (
        {%- for field in fields %}
        coalesce(correction.cells['{{ field }}'], {{ row }}.{{ field }}) as {{ field }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
    {%- endif %}
{%- endmacro %}


{#- The LEFT JOIN of `row` to its applied corrections, one map field -> corrected text per delivered row. -#}
{% macro corrections_join(table_name, fields, corrections, row='delivered') -%}
    {%- if fields %}
    left join (
        select center_id, source_file, source_row, source_column, map(list(field), list(corrected_value)) as cells
        from {{ corrections }}
        where table_name = '{{ table_name }}' and status = 'applied'
        group by all
    ) as correction
        on correction.center_id = {{ row }}.center_id
        and correction.source_file = {{ row }}.source_file
        and correction.source_row = {{ row }}.source_row
        and correction.source_column is not distinct from {{ row }}.source_column
    {%- endif %}
{%- endmacro %}

{#- The centers' code maps (raw.center_code_maps) as LEFT JOINs, one per coded field of `table_name`, each
    aliased code_<field>: one hash join against a few dozen codes, where a sub-select per row and field took
    four times as long on registry-sized labs. `row` names the relation holding the delivered text. -#}
{% macro code_map_joins(table_name, fields, row='delivered') -%}
    {%- for field in fields %}
    left join {{ source('raw', 'center_code_maps') }} as code_{{ field }}
        on code_{{ field }}.center_id = {{ row }}.center_id
        and code_{{ field }}.table_name = '{{ table_name }}'
        and code_{{ field }}.field = '{{ field }}'
        and code_{{ field }}.source_code = {{ clean_text(row ~ '.' ~ field) }}
    {%- endfor %}
{%- endmacro %}


{#- A coded field after the center's code map (joined by code_map_joins). A delivered code missing from the
    map is kept as delivered, so that validation sees and reports it as an unknown code. -#}
{% macro mapped_code(field, row='delivered') -%}
    coalesce(code_{{ field }}.code, {{ clean_text(row ~ '.' ~ field) }})
{%- endmacro %}


{#- The unit a center declares for a measure (an analyte or a field) of one table, when its file has no
    unit column (raw.center_units), as a LEFT JOIN aliased `declared`; `row` names the relation holding the
    row's center_id. -#}
{% macro declared_unit_join(table_name, measure_expr, row='delivered') -%}
    left join {{ source('raw', 'center_units') }} as declared
        on declared.center_id = {{ row }}.center_id
        and declared.table_name = '{{ table_name }}'
        and declared.measure = {{ measure_expr }}
{%- endmacro %}

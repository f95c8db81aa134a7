{#- A coded field after the center's code map (raw.center_code_maps). A delivered code missing from the
    map is kept as delivered, so that validation sees and reports it as an unknown code. -#}
{% macro mapped_code(table_name, field, expr=none) -%}
    {%- set delivered = clean_text(expr or field) -%}
    coalesce(
        (
            select code_map.code
            from {{ source('raw', 'center_code_maps') }} as code_map
            where code_map.center_id = delivered.center_id
                and code_map.table_name = '{{ table_name }}'
                and code_map.field = '{{ field }}'
                and code_map.source_code = {{ delivered }}
        ),
        {{ delivered }}
    )
{%- endmacro %}


{#- The unit a center declares for a measure (an analyte or a field) of one table, when its file has no
    unit column (raw.center_units); `row` names the relation holding the row's center_id. -#}
{% macro declared_unit(table_name, measure_expr, row='delivered') -%}
    (
        select declared.unit
        from {{ source('raw', 'center_units') }} as declared
        where declared.center_id = {{ row }}.center_id
            and declared.table_name = '{{ table_name }}'
            and declared.measure = {{ measure_expr }}
    )
{%- endmacro %}

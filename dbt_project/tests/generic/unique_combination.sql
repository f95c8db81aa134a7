{#- The combination of `columns` identifies a row (dbt_utils' unique_combination_of_columns, without
    the package: the warehouse builds offline). -#}
{% test unique_combination(model, columns) %}
    {%- set quoted = columns | map('tojson') | join(', ') %}
    select {{ quoted }}, count(*) as n_rows
    from {{ model }}
    group by {{ quoted }}
    having count(*) > 1
{% endtest %}

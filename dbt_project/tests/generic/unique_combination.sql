{#- The combination of `columns` identifies a row (dbt_utils' unique_combination_of_columns, without
    the package: the warehouse builds offline). A key that includes center_id is checked for the run's
    centers only (macros/centers.sql): the other centers' rows were checked when they were built, and a
    delivery from one center of a registry should not rescan every center's labs. -#}
{% test unique_combination(model, columns) %}
    {%- set quoted = columns | map('tojson') | join(', ') %}
    select {{ quoted }}, count(*) as n_rows
    from {{ model }}
    {%- if 'center_id' in columns %}
    where {{ run_centers() }}
    {%- endif %}
    group by {{ quoted }}
    having count(*) > 1
{% endtest %}

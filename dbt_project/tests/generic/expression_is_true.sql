{#- Rows where the SQL expression is false (NULL passes: missing values are validation's concern). -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}

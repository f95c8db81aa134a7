{#- Every non-null value of the column is a code of the contract vocabulary (seed vocabulary) for
    `table_name`.`field`. Unknown codes are kept as delivered, so this test reports them by value. -#}
{% test in_vocabulary(model, column_name, table_name, field) %}
    select {{ column_name }} as unknown_code, count(*) as n_rows
    from {{ model }}
    where {{ column_name }} is not null
        and {{ column_name }} not in (
            select code from {{ ref('vocabulary') }}
            where table_name = '{{ table_name }}' and field = '{{ field }}'
        )
    group by {{ column_name }}
{% endtest %}

{#- One row per delivered row: per center of the run, the model holds as many rows as the current file
    versions of raw.<table_name> (macros/current_rows.sql). Landing numbers every delivered row (center_id,
    source_file, source_row, and source_column for wide labs), so equal counts mean no row lost and none
    fanned out by a join, as a uniqueness test of that key would show, for a count instead of a
    registry-sized GROUP BY (10 s on 46 M lab rows). -#}
{% test rows_as_delivered(model, table_name) %}
    with delivered as (
        select center_id, count(*) as n_rows
        from ({{ current_rows(table_name) }})
        group by center_id
    ),

    built as (
        select center_id, count(*) as n_rows
        from {{ model }}
        where {{ run_centers() }}
        group by center_id
    )

    select center_id, delivered.n_rows as delivered, built.n_rows as built
    from delivered
    full join built using (center_id)
    where delivered.n_rows is distinct from built.n_rows
{% endtest %}

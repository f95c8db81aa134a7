{#- Every candidate row (intermediate.int_<table_name>) is in the model or in quarantine.<table_name>, once:
    per center of the run, core rows + quarantined rows = candidate rows. The candidates' provenance is
    unique (tests rows_as_delivered in staging), so this holds only if the gate's anti join dropped exactly
    the refused rows and the warnings' join fanned none out; a count, not a GROUP BY over every core row. -#}
{% test rows_as_validated(model, table_name) %}
    with counts as (
        select center_id, count(*) as candidates, 0 as validated, 0 as quarantined
        from {{ ref('int_' ~ table_name) }} where {{ run_centers() }} group by center_id
        union all
        select center_id, 0, count(*), 0
        from {{ model }} where {{ run_centers() }} group by center_id
        union all
        select center_id, 0, 0, count(*)
        from {{ source('quarantine', table_name) }} where {{ run_centers() }} group by center_id
    )

    select center_id, sum(candidates) as candidates, sum(validated) as validated, sum(quarantined) as quarantined
    from counts
    group by center_id
    having sum(candidates) <> sum(validated) + sum(quarantined)
{% endtest %}

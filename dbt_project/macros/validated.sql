{#- The rows of a candidate model (intermediate.int_<table>) that the validation gate did not quarantine
    (quarantine.<table>), with the warnings they travel with (audit.<table>_warnings, NULL when none), of
    the run's centers (macros/centers.sql). Rows are matched on their provenance; wide labs also on the
    column the value came from. -#}
{% macro validated(table) -%}
    {%- set key = ['center_id', 'source_file', 'source_row'] + (['source_column'] if table == 'labs' else []) -%}
    select
        candidate.*,
        warning.reason as warnings
    from {{ ref('int_' ~ table) }} as candidate
    left join {{ source('audit', table ~ '_warnings') }} as warning
        on {% for column in key %}warning.{{ column }} is not distinct from candidate.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
    where {{ run_centers('candidate.center_id') }}
        and not exists (
            select 1
            from {{ source('quarantine', table) }} as refused
            where {% for column in key %}refused.{{ column }} is not distinct from candidate.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
        )
{%- endmacro %}


{#- Empty gate tables where the validation gate has not written any yet (a first `dbt build` by hand, or a
    warehouse built before the gate existed), so that the core models always build. Only the columns the
    core models read; the gate (assets/validation/store.py) gives them all its columns when it first writes. -#}
{% macro ensure_gate_tables() -%}
    create schema if not exists quarantine;
    create schema if not exists audit;
    {%- for table in ['patients', 'cycles', 'assessments', 'labs', 'adverse_events', 'events'] %}
    {%- for relation in ['quarantine.' ~ table, 'audit.' ~ table ~ '_warnings'] %}
    create table if not exists {{ relation }} (
        center_id varchar, source_file varchar, source_row bigint, source_column varchar, reason varchar
    );
    {%- endfor %}
    {%- endfor %}
{%- endmacro %}

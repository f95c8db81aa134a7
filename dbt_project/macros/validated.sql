{#- The rows of a candidate model (intermediate.int_<table>) that the validation gate did not quarantine
    (quarantine.<table>), with the warnings they travel with (audit.<table>_warnings, NULL when none), of
    the run's centers (macros/centers.sql). Rows are matched on their provenance, never NULL; wide labs also
    on the column the value came from (NULL for long files). Equality and an anti join let DuckDB hash-join:
    with IS NOT DISTINCT FROM on every key and NOT EXISTS, core.labs took 2.5x a plain copy. -#}
{% macro validated(table) -%}
    select
        candidate.*,
        warning.reason as warnings
    from {{ ref('int_' ~ table) }} as candidate
    anti join {{ source('quarantine', table) }} as refused
        on {{ _same_row('refused', 'candidate', table) }}
    left join {{ source('audit', table ~ '_warnings') }} as warning
        on {{ _same_row('warning', 'candidate', table) }}
    where {{ run_centers('candidate.center_id') }}
{%- endmacro %}


{% macro _same_row(finding, candidate, table) -%}
    {%- for column in ['center_id', 'source_file', 'source_row'] -%}
    {{ finding }}.{{ column }} = {{ candidate }}.{{ column }} and {% endfor -%}
    {%- if table == 'labs' -%}
    {{ finding }}.source_column is not distinct from {{ candidate }}.source_column
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{#- Empty gate tables where the validation gate has not written any yet (a first `dbt build` by hand, or a
    warehouse built before the gate existed), so that the core models always build. Only the columns the
    core models read; the gate (assets/validation/store.py) gives them all its columns when it first writes. -#}
{% macro ensure_gate_tables() -%}
    create schema if not exists quarantine;
    create schema if not exists audit;
    {%- for table in ['patients', 'cycles', 'assessments', 'labs', 'adverse_events', 'events', 'therapy_lines'] %}
    {%- for relation in ['quarantine.' ~ table, 'audit.' ~ table ~ '_warnings'] %}
    create table if not exists {{ relation }} (
        center_id varchar, source_file varchar, source_row bigint, source_column varchar, reason varchar
    );
    {%- endfor %}
    {%- endfor %}
{%- endmacro %}

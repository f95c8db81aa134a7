{#- Staging is rebuilt per center, the Dagster partition: a run for some centers passes
    --vars '{centers: [...]}', deletes those centers' staging rows (pre-hook) and inserts them again from
    raw; other centers' rows stay as they are. Without the var (the nightly run over every center) the
    tables are rebuilt whole (--full-refresh). -#}

{#- A SQL predicate on center_id: the run's centers, or every row when the run names none. -#}
{% macro run_centers(column='center_id') -%}
    {%- set centers = var('centers', none) -%}
    {%- if centers is none -%}
        true
    {%- else -%}
        {{ column }} in ({% for center in centers %}'{{ center }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of an incremental staging model: clear the rows the run is about to insert again. -#}
{% macro delete_run_centers() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ run_centers() }}
    {%- endif -%}
{%- endmacro %}

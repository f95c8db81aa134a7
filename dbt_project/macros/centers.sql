{#- Every model from staging to core is rebuilt per center: a run for some centers passes
    --vars '{centers: [...]}', deletes those centers' rows (pre-hook) and inserts them again; other centers'
    rows stay as they are. Without the var (a run over every center) the tables are rebuilt whole
    (--full-refresh). -#}

{#- A SQL predicate on center_id: the run's centers, or every row when the run names none. Models filter
    their inputs with it, so that a first build for some centers holds exactly those centers. -#}
{% macro run_centers(column='center_id') -%}
    {%- set centers = var('centers', none) -%}
    {%- if centers is none -%}
        true
    {%- else -%}
        {{ column }} in ({% for center in centers %}'{{ center }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of an incremental model: clear the rows the run is about to insert again. -#}
{% macro delete_run_centers() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ run_centers() }}
    {%- endif -%}
{%- endmacro %}

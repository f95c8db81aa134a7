{#- The rows a data test reads. In a run for some centers (macros/centers.sql), a test of a model built per
    center (incremental, or a view over such models) reads only those centers' rows: the other centers'
    rows are the ones the run that built them tested, and a subject belongs to one center (its subject_id
    is keyed by center), so no test's answer depends on two centers' rows of the tested model. Tables
    rebuilt whole (audit.corrections) and seeds are read whole, and so is the other side of a relationships
    test. At 1,000,000 patients the 61 tests of core read ~60 M rows on every one-center run; they now
    read the center's. A test's own `where` config applies as in dbt's macro this one overrides. -#}
{% macro get_where_subquery(relation) -%}
    {%- set predicates = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do predicates.append(where) -%}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- if var('centers', none) is not none and tested and tested.config.materialized in ['incremental', 'view'] -%}
        {%- do predicates.append(run_centers()) -%}
    {%- endif -%}
    {%- if predicates -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ predicates | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- A run for some centers (macros/centers.sql) builds an incremental model's new rows as a temporary
    relation, then appends them to the model's table. dbt-duckdb makes that relation a temporary table, so
    the centers' rows are written twice; a temporary view writes them once, as the append reads them. At
    1,000,000 patients one center's core.labs took 5.3 s through the temporary table, 3.8 s through the
    view (int_labs, whose cost is computing its rows, the same; docs/scale.md). The contract check the
    adapter would run on the temporary table runs here on the view's columns. Every
    other table (a full refresh, seeds) is created by the adapter's own macro. -#}
{% macro create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {%- if temporary and language == 'sql' and is_incremental() -%}
        {%- if config.get('contract').enforced -%}
            {{ get_assert_columns_equivalent(compiled_code) }}
        {%- endif %}
        create or replace temporary view {{ relation.include(database=false, schema=false) }} as (
            {{ compiled_code }}
        )
    {%- else -%}
        {{ return(adapter.dispatch('create_table_as', 'dbt')(temporary, relation, compiled_code, language,
                                                            partitioned_by=partitioned_by, sorted_by=sorted_by)) }}
    {%- endif -%}
{%- endmacro %}

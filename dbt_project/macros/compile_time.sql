{#- The first column of `query`'s rows, run while dbt compiles a model: for SQL generated from the data
    (date formats, corrected fields). Empty while parsing, when nothing may be queried. -#}
{% macro compile_time_values(query) -%}
    {%- if execute -%}
        {{ return(run_query(query).columns[0].values()) }}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
{%- endmacro %}

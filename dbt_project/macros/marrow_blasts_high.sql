{#- Marrow blasts >= 5 % at an assessment (true / false / NULL unknown). A `<x` marker means under x.
    Where morphology was not delivered, flow MRD stands in: >= 5 % is high, anything lower (including
    `<0.01` and `ND`) is low. -#}
{% macro marrow_blasts_high(assessment) -%}
    coalesce(
        {{ assessment }}.bm_blasts_pct >= 5 and not {{ assessment }}.bm_blasts_pct_below_lod,
        {{ assessment }}.mrd_pct >= 5 and not {{ assessment }}.mrd_pct_below_lod
    )
{%- endmacro %}

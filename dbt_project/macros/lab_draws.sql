{#- What makes a draw (core.lab_draw_choices, core.lab_draws): one patient, cycle, timepoint, specimen and
    analyte. A key may be NULL (a draw without a timepoint is still one draw). -#}
{% macro lab_draw_keys() -%}
    subject_id, center_id, cycle_no, timepoint, specimen, analyte
{%- endmacro %}

{#- A delivery of a draw that counts: it has a value, or is below the limit of detection without one (`ND`). -#}
{% macro lab_draw_value() -%}
    (value is not null or below_lod)
{%- endmacro %}

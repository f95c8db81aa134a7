-- One value per draw: the core.labs rows of one patient, cycle, timepoint, specimen and analyte reduced to
-- the last delivery with a value (by sample date, undated first, then delivered file and row). `ND` (below
-- the limit of detection, no number) counts as a value; each mart decides what it stands for. The marts
-- that compare draws read this table, so a registry's lab rows are grouped once per center and run, not
-- once per mart. A key may be NULL (a draw without a timepoint is still one draw): hence the null-safe
-- joins. Most draws are delivered once: only the repeated ones pay for choosing (arg_max keeps one
-- small state per group, where a sort would hold every row).
{%- set draw = 'subject_id, center_id, cycle_no, timepoint, specimen, analyte' %}
{%- set same_draw -%}
{%- for key in draw.split(', ') %}
{{ 'on' if loop.first else 'and' }} repeated.{{ key }} is not distinct from labs.{{ key }}
{%- endfor %}
{%- endset %}

with labs as (
    select
        {{ draw }},
        value, unit, below_lod, detection_limit, sample_date, source_file, source_row
    from {{ ref('labs') }}
    where (value is not null or below_lod) and {{ run_centers() }}
),

repeated as (
    select {{ draw }}
    from labs
    group by all
    having count(*) > 1
),

chosen as (
    select
        {{ draw }},
        arg_max(
            {
                'value': value, 'unit': unit, 'below_lod': below_lod, 'detection_limit': detection_limit,
                'sample_date': sample_date, 'source_file': source_file, 'source_row': source_row
            },
            (coalesce(sample_date, '-infinity'::date), source_file, source_row)
        ) as draw,
        count(*) as deliveries
    from labs
    semi join repeated {{ same_draw }}
    group by {{ draw }}
)

select *, 1 as deliveries
from labs
anti join repeated {{ same_draw }}
union all by name
select
    {{ draw }},
    draw.value, draw.unit, draw.below_lod, draw.detection_limit, draw.sample_date, draw.source_file, draw.source_row,
    deliveries
from chosen

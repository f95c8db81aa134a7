-- The draws of core.labs delivered more than once, reduced to one: per patient, cycle, timepoint, specimen and
-- analyte, the last delivery with a value (by sample date, undated first, then delivered file and row), and how
-- many deliveries there were. `ND` (below the limit of detection, no number) counts as a value. core.lab_draws
-- is core.labs' other draws plus these, so a registry's lab rows are stored once, and only repeated draws pay
-- for choosing (arg_max keeps one small state per group, where a sort would hold every row).
-- Finding the repeated draws groups one 64-bit hash of the six keys (a grouping on the keys themselves costs
-- about three times as much); a hash shared by two different draws only sends both through the grouping on the
-- real keys below, where each keeps its own count, so `having` drops them again.
{%- set draw = lab_draw_keys() %}

with labs as (
    select
        hash({{ draw }}) as draw_hash,
        {{ draw }},
        value, unit, below_lod, detection_limit, sample_date, source_file, source_row
    from {{ ref('labs') }}
    where {{ lab_draw_value() }} and {{ run_centers() }}
),

repeated as (
    select draw_hash
    from labs
    group by draw_hash
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
    semi join repeated using (draw_hash)
    group by {{ draw }}
    having count(*) > 1
)

select
    {{ draw }},
    -- The chosen delivery's value, unit, below_lod, detection_limit, sample_date, source_file and source_row:
    -- unnest names each column after its struct field.
    unnest(draw),  -- noqa: AL03
    deliveries
from chosen

-- One value per draw: core.labs' draws delivered once, and core.lab_draw_choices for those delivered more than
-- once. A view, not a table: a registry's lab rows are stored once in the warehouse (intermediate.int_labs, which
-- core.labs shows) and once in the snapshot (its core.labs); a mart's filters reach core.labs through it, and
-- the anti join's other side holds only the repeated draws. Its references name no database, so the same view
-- reads the analyst snapshot's own tables there (assets/snapshot/publish.py copies views as views).
{{ config(materialized='view', pre_hook=[]) }}
{%- set draw = lab_draw_keys().split(', ') %}
{%- set same_draw -%}
{%- for key in draw %}
{{ 'on' if loop.first else 'and' }} repeated.{{ key }} is not distinct from labs.{{ key }}
{%- endfor %}
{%- endset %}

select
    {{ draw | join(', ') }},
    value, unit, below_lod, detection_limit, sample_date, source_file, source_row,
    1 as deliveries
from {{ ref('labs').include(database=False) }} as labs
anti join {{ ref('lab_draw_choices').include(database=False) }} as repeated {{ same_draw }}
where {{ lab_draw_value() }}
union all by name
select *
from {{ ref('lab_draw_choices').include(database=False) }}

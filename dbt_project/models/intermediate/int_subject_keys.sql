-- The pseudonymous key of every (center_id, mrn) seen in any staging table, so that an orphan row (a
-- cycle for an undelivered patient) still gets a key and validation can report it. pseudonym() is the
-- HMAC-SHA256 UDF of plugins/blina_pseudonym.py; this table is the only place mrn meets subject_id.
with delivered_keys as (
    {%- for model in ['stg_patients', 'stg_cycles', 'stg_assessments', 'stg_labs', 'stg_adverse_events', 'stg_events'] %}
    select center_id, mrn from {{ ref(model) }} where {{ run_centers() }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
)

select
    center_id,
    mrn,
    pseudonym(center_id, mrn) as subject_id
from delivered_keys
where mrn is not null

-- The pseudonymous key of every (center_id, mrn) in any table's current rows. pseudonym() is the
-- HMAC-SHA256 UDF of plugins/blina_pseudonym.py: a Python call, so it runs here once per key, not in every
-- staging model (each joins this table through macros/current_rows.sql). Within staging, the one table
-- where a record number meets its subject_id; nothing after staging holds a record number.
with delivered_keys as (
    {%- for table in ['patients', 'cycles', 'assessments', 'labs', 'adverse_events', 'events', 'therapy_lines'] %}
    select delivered.center_id, trim(delivered.mrn) as mrn
    from {{ source('raw', table) }} as delivered
    inner join {{ source('raw', 'current_files') }}
        using (center_id, source_file, file_sha256)
    where delivered.mrn is not null and {{ run_centers('delivered.center_id') }}
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

-- Per patient, the first day of blinatumomab (the default time-to-event origin, and the day ages are
-- computed at) and the number of delivered cycles.
select
    center_id,
    subject_id,
    min(start_date) as first_infusion_date,
    count(*) as n_cycles
from {{ ref('stg_cycles') }}
where subject_id is not null and {{ run_centers() }}
group by center_id, subject_id

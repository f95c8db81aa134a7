-- One row per patient and endpoint (efs, os): origin, end, time in days and event 0/1, ADTTE style.
-- Only events on or after the first infusion count: an earlier relapse is why blinatumomab was given,
-- not an outcome, whichever origin is chosen. Configured by dbt vars (dbt_project.yml): tte_origin,
-- efs_events, censor_at_hsct, censor_at_car_t.
{%- set origin = var('tte_origin') %}
{%- if origin not in ['first_infusion', 'diagnosis'] %}
    {{ exceptions.raise_compiler_error("var tte_origin must be first_infusion or diagnosis, got " ~ origin) }}
{%- endif %}
{%- set censoring_events = [] %}
{%- if var('censor_at_hsct') %}{% do censoring_events.append('hsct') %}{% endif %}
{%- if var('censor_at_car_t') %}{% do censoring_events.append('car_t') %}{% endif %}

with patient as (
    select
        subject_id,
        center_id,
        first_infusion_date,
        {{ 'diagnosis_date' if origin == 'diagnosis' else 'first_infusion_date' }} as origin_date
    from {{ ref('patients') }}
    where {{ run_centers() }}
),

endpoint as (
    -- Each endpoint's event types, in tie-break order. The alias names the values' columns (sqlfluff's AL05
    -- sees an alias no select reads).
    select * from (
        values
        ('efs', {{ var('efs_events') | list | tojson | replace('"', "'") }}),
        ('os', ['death'])
    ) as endpoint (endpoint, event_types)  -- noqa: AL05
),

outcome as (
    select event.subject_id, event.event_type, event.event_date
    from {{ ref('events') }} as event
    inner join patient using (subject_id)
    where event.event_date >= patient.first_infusion_date
    union all
    -- Failure to respond to cycle 1, dated at its end_of_cycle assessment (else the cycle's last day).
    select subject_id, 'nr_cycle1' as event_type, coalesce(response_date, end_date) as event_date
    from {{ ref('cycles') }}
    where cycle_no = 1 and response = 'nr' and {{ run_centers() }}
),

first_event as (
    select
        outcome.subject_id,
        endpoint.endpoint,
        outcome.event_type,
        outcome.event_date
    from outcome
    inner join endpoint on list_contains(endpoint.event_types, outcome.event_type)
    where outcome.event_date is not null
    qualify
        row_number() over (
            partition by outcome.subject_id, endpoint.endpoint
            order by outcome.event_date, list_position(endpoint.event_types, outcome.event_type)
        ) = 1
),

follow_up as (
    select
        event.subject_id,
        max(event.event_date) filter (where event.event_type = 'last_contact') as last_contact_date,
        -- sqlfluff misreads the indentation of a jinja branch inside a select list.
        -- noqa: disable=LT02
        {%- if censoring_events %}
        min(event.event_date) filter (
            where event.event_type in ('{{ censoring_events | join("', '") }}')
                and event.event_date >= patient.first_infusion_date
        ) as censoring_event_date,
        arg_min(event.event_type, event.event_date) filter (
            where event.event_type in ('{{ censoring_events | join("', '") }}')
                and event.event_date >= patient.first_infusion_date
        ) as censoring_event_type
        {%- else %}
        null::date as censoring_event_date,
        null::varchar as censoring_event_type
        {%- endif %}
    -- noqa: enable=LT02
    from {{ ref('events') }} as event
    inner join patient using (subject_id)
    group by event.subject_id
),

ended as (
    select
        patient.subject_id,
        patient.center_id,
        endpoint.endpoint,
        patient.origin_date,
        first_event.event_type,
        first_event.event_date,
        follow_up.last_contact_date,
        follow_up.censoring_event_date,
        follow_up.censoring_event_type,
        -- An event counts unless a censoring treatment (HSCT / CAR-T, when configured) came first.
        (
            first_event.event_date is not null
            and first_event.event_date <= coalesce(follow_up.censoring_event_date, first_event.event_date)
        ) as has_event
    from patient
    cross join endpoint
    left join first_event using (subject_id, endpoint)
    left join follow_up using (subject_id)
)

select
    subject_id,
    center_id,
    endpoint,
    '{{ origin }}' as origin,
    origin_date,
    end_date,
    end_date - origin_date as time_days,
    has_event::integer as event,
    case when has_event then event_type else 'censored' end as event_type,
    case
        when has_event then null
        when censoring_event_date <= coalesce(last_contact_date, censoring_event_date) then censoring_event_type
        when last_contact_date is not null then 'last_contact'
        -- Nothing known after the origin: censored at the origin (admiral's convention).
        else 'no_follow_up'
    end as censor_reason
from (
    select
        *,
        case
            when has_event then event_date
            else coalesce(least(censoring_event_date, last_contact_date), origin_date)
        end as end_date
    from ended
) as dated

-- One row per delivered bone-marrow assessment (current file versions). Percentages may carry
-- detection markers: MRD `<0.01` is negative at the assay's 0.01 % sensitivity; and a trailing `%`.
with delivered as (
    {{ current_rows_with_subject_id('assessments') }}
),

parsed as (
    select
        subject_id,
        delivered.center_id,
        source_file,
        source_row,
        try_cast({{ clean_text('cycle_no') }} as integer) as cycle_no,
        {{ clean_text('cycle_no') }} as cycle_no_raw,
        {{ mapped_code('timepoint') }} as timepoint,
        {{ parse_date('assessment_date') }} as assessment_date,
        {{ clean_text('assessment_date') }} as assessment_date_raw,
        {{ marked_measurement('bm_blasts_pct', 'bm_blasts_pct') }},
        {{ marked_measurement('mrd_pct', 'mrd_pct') }},
        {{ marked_measurement('fusion_transcript_pct', 'fusion_transcript_pct') }}
    from delivered{{ code_map_joins('assessments', ['timepoint']) }}
)

select
    * exclude (bm_blasts_pct_percent_sign, mrd_pct_percent_sign, fusion_transcript_pct_percent_sign),
    -- MRD negative: under 0.01 %, or marked below a limit no higher than 0.01 % (`<0.01`, `ND`). A `<0.1`
    -- from a less sensitive assay leaves negativity unknown (NULL).
    case
        when mrd_pct < 0.01 then true
        when mrd_pct_below_lod and coalesce(mrd_pct, 0) <= 0.01 then true
        when mrd_pct >= 0.01 and not mrd_pct_below_lod then false
    end as mrd_negative,
    {{ parse_errors({
        'cycle_no': 'not_an_integer',
        'assessment_date': 'invalid_date',
        'bm_blasts_pct': 'not_a_measurement',
        'mrd_pct': 'not_a_measurement',
        'fusion_transcript_pct': 'not_a_measurement',
    }) }} as parse_errors
from parsed

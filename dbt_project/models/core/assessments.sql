-- The validated assessments: every candidate row (intermediate.int_assessments) that passed the validation gate
-- (assets/validation/, docs/data-quality.md), with its warnings; refused rows are in quarantine.assessments.
{{ validated('assessments') }}

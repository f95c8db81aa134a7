-- The validated labs: every candidate row (intermediate.int_labs) that passed the validation gate
-- (assets/validation/, docs/data-quality.md), with its warnings; refused rows are in quarantine.labs.
{{ validated('labs') }}

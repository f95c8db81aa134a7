-- The validated adverse_events: every candidate row (intermediate.int_adverse_events) that passed the validation gate
-- (assets/validation/, docs/data-quality.md), with its warnings; refused rows are in quarantine.adverse_events.
{{ validated('adverse_events') }}

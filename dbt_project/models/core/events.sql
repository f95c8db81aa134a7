-- The validated events: every candidate row (intermediate.int_events) that passed the validation gate
-- (assets/validation/, docs/data-quality.md), with its warnings; refused rows are in quarantine.events.
{{ validated('events') }}

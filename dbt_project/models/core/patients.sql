-- The validated patients: every candidate row (intermediate.int_patients) that passed the validation gate
-- (assets/validation/, docs/data-quality.md), with its warnings; refused rows are in quarantine.patients.
{{ validated('patients') }}

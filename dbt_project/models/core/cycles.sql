-- The validated cycles: every candidate row (intermediate.int_cycles) that passed the validation gate
-- (assets/validation/, docs/data-quality.md), with its warnings; refused rows are in quarantine.cycles.
{{ validated('cycles') }}

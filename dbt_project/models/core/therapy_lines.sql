-- The validated therapy lines: every candidate row (intermediate.int_therapy_lines) that passed the validation
-- gate (assets/validation/, docs/data-quality.md), with its warnings; refused rows are in quarantine.therapy_lines.
{{ validated('therapy_lines') }}

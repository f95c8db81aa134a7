{#- Completed months of age on `on_date`: from the birth date when delivered; otherwise the delivered age at
    diagnosis plus the completed months from diagnosis to `on_date` (without a diagnosis date, the age at
    diagnosis alone: an underestimate). As core.patients.age_months computes it at the first infusion. -#}
{% macro age_months(birth_date, age_at_diagnosis_months, diagnosis_date, on_date) -%}
    case
        when {{ birth_date }} is not null
            then date_sub('month', {{ birth_date }}, {{ on_date }})
        when {{ age_at_diagnosis_months }} is not null
            then floor({{ age_at_diagnosis_months }})::integer
                + coalesce(date_sub('month', {{ diagnosis_date }}, {{ on_date }}), 0)
    end
{%- endmacro %}

{#- One text per row naming every delivered value that did not parse, as `field:reason`, comma-separated;
    NULL when all parsed. Expects `<field>_raw` (the delivered text) and `<field>` (the parsed value) for
    each field in `checks`, a mapping field -> reason (not_a_number, invalid_date, unknown_code, ...).
    Reason not_a_measurement is for fields with detection markers, where `ND` parses to NULL by design. -#}
{% macro parse_errors(checks) -%}
    nullif(concat_ws(', '
        {%- for field, reason in checks.items() %},
        case when {{ field }}_raw is not null and {{ field }} is null
            {%- if reason == 'not_a_measurement' %} and upper({{ field }}_raw) <> 'ND'{% endif %}
            then '{{ field }}:{{ reason }}' end
        {%- endfor %}
    ), '')
{%- endmacro %}

{#- Delivered text, trimmed; empty means unknown (NULL). -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}


{#- A number as delivered: a decimal comma is read only where the center declares `decimal: ","`, so
    "1,5" from a decimal-point center stays unparsed (NULL) for validation rather than guessed. -#}
{% macro parse_number(expr) -%}
    try_cast(
        case when decimal = ',' then replace({{ clean_text(expr) }}, ',', '.') else {{ clean_text(expr) }} end
        as double
    )
{%- endmacro %}


{#- A date in the center's declared date_format. DuckDB's try_strptime needs a constant format, so one
    branch per format declared in raw.center_settings is generated at compile time: a new center's format
    needs no SQL change. A non-existent date (2022.02.29) gives NULL. -#}
{% macro parse_date(expr) -%}
    case
        when date_format is null then null::date
        {%- for date_format in center_date_formats() %}
        when date_format = '{{ date_format | replace("'", "''") }}'
            then try_strptime({{ clean_text(expr) }}, '{{ date_format | replace("'", "''") }}')::date
        {%- endfor %}
    end
{%- endmacro %}


{% macro center_date_formats() -%}
    {%- set query -%}
        select distinct date_format from {{ source('raw', 'center_settings') }}
        where date_format is not null order by 1
    {%- endset -%}
    {{ return(compile_time_values(query)) }}
{%- endmacro %}


{#- Y/N (after the center's code map) as a boolean; any other code gives NULL and a parse error. -#}
{% macro parse_yes_no(expr) -%}
    case {{ expr }} when 'Y' then true when 'N' then false end
{%- endmacro %}

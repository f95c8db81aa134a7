{#- A measurement with detection markers (docs/delivery-contract.md, Labs), as five columns:
      <alias>               the number as delivered: `<x` and `>x` give x; `ND` (not detected) gives NULL;
                            a trailing `%` (`70.7%`, as a sheet shows a percentage) is dropped
      <alias>_raw           the delivered text
      <alias>_percent_sign  written with a trailing `%`: the caller refuses it where the measure is no percentage
      <alias>_below_lod     marked `<x` or `ND` (NULL when nothing was delivered)
      <alias>_above_uloq    marked `>x`
    Values at or under a kit's floor are flagged by the caller, once the number is in canonical units. -#}
{% macro marked_measurement(expr, alias) -%}
    {%- set text = clean_text(expr) -%}
    {{ parse_number("regexp_replace(regexp_replace(" ~ text ~ ", '^[<>]=?\\s*', ''), '\\s*%$', '')") }} as {{ alias }},
    {{ text }} as {{ alias }}_raw,
    ends_with({{ text }}, '%') as {{ alias }}_percent_sign,
    upper({{ text }}) = 'ND' or {{ text }} like '<%' as {{ alias }}_below_lod,
    {{ text }} like '>%' as {{ alias }}_above_uloq
{%- endmacro %}

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
    {#- The markers' regular expressions run only where a marker can match (a leading `<` or `>`, a trailing
        `%`): most of a registry's lab values are bare numbers, and the two regexp_replace calls were a fifth
        of parsing every lab value (stg_labs at 100,000 patients: 2.5 -> 2.0 s, the same rows). -#}
    {%- set markers_dropped = "case when starts_with(" ~ text ~ ", '<') or starts_with(" ~ text ~ ", '>') or ends_with("
        ~ text ~ ", '%') then regexp_replace(regexp_replace(" ~ text ~ ", '^[<>]=?\\s*', ''), '\\s*%$', '') else "
        ~ text ~ " end" -%}
    {{ parse_number(markers_dropped) }} as {{ alias }},
    {{ text }} as {{ alias }}_raw,
    ends_with({{ text }}, '%') as {{ alias }}_percent_sign,
    upper({{ text }}) = 'ND' or {{ text }} like '<%' as {{ alias }}_below_lod,
    {{ text }} like '>%' as {{ alias }}_above_uloq
{%- endmacro %}

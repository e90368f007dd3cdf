{#- Money in the reporting currency, rounded to the cent per line (docs/zones.md):
    round(amount * units_per_eur(R, d) / units_per_eur(C, d), 2). `rate` is an int_fx__rates
    row of the amount's currency C on the line's day d. -#}
{% macro convert_money(amount, rate) -%}
    cast(round(
        {{ amount }} * {{ rate }}.reporting_units_per_eur / {{ rate }}.units_per_eur, 2
    ) as {{ money_type() }})
{%- endmacro %}

{% macro money_type() -%}decimal(18, 2){%- endmacro %}

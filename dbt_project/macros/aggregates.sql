{#- The value of `column` on the row with the smallest `order_key`, ignoring null values
    (survivorship: order_key ranks sources by trust, then recency). -#}
{% macro value_with_min_key(column, order_key) -%}
    {{ return(adapter.dispatch('value_with_min_key')(column, order_key)) }}
{%- endmacro %}
{% macro default__value_with_min_key(column, order_key) -%}
    min_by({{ column }}, case when {{ column }} is not null then {{ order_key }} end)
{%- endmacro %}
{% macro duckdb__value_with_min_key(column, order_key) -%}
    arg_min({{ column }}, case when {{ column }} is not null then {{ order_key }} end)
{%- endmacro %}

{#- Sorted, comma-separated distinct values. -#}
{% macro distinct_list(column) -%}
    {{ return(adapter.dispatch('distinct_list')(column)) }}
{%- endmacro %}
{% macro default__distinct_list(column) -%}
    {#- null without values, as DuckDB's string_agg -#}
    nullif(array_join(array_sort(collect_set({{ column }})), ','), '')
{%- endmacro %}
{% macro duckdb__distinct_list(column) -%}
    string_agg(distinct {{ column }}, ',' order by {{ column }})
{%- endmacro %}

{#- distinct_list of a column whose values are known in advance (`values`): a flag per value
    instead of collecting the values, a third of the time of DuckDB's string_agg(distinct) at a
    million records. A value not in `values` is left out. -#}
{% macro distinct_list_of_known(column, values) -%}
    nullif(concat_ws(','
        {%- for value in values | sort %},
        case when max(case when {{ column }} = '{{ value }}' then 1 else 0 end) = 1 then '{{ value }}' end
        {%- endfor %}), '')
{%- endmacro %}

{#- A 64-bit hash of `column` as a decimal(38, 0), to sum without overflow (an order-insensitive
    fingerprint of a set). -#}
{% macro numeric_hash(column) -%}
    {{ return(adapter.dispatch('numeric_hash')(column)) }}
{%- endmacro %}
{% macro default__numeric_hash(column) -%}
    cast(xxhash64({{ column }}) as decimal(38, 0))
{%- endmacro %}
{% macro duckdb__numeric_hash(column) -%}
    cast(hash({{ column }}) as decimal(38, 0))
{%- endmacro %}

{#- Raw timestamps are UTC instants (timestamp with time zone); marts use naive UTC timestamps. -#}
{% macro to_utc(column) -%}
    {{ return(adapter.dispatch('to_utc')(column)) }}
{%- endmacro %}
{% macro default__to_utc(column) -%}cast({{ column }} as timestamp){%- endmacro %}
{% macro duckdb__to_utc(column) -%}timezone('UTC', {{ column }}){%- endmacro %}

{% macro epoch_seconds(column) -%}
    {{ return(adapter.dispatch('epoch_seconds')(column)) }}
{%- endmacro %}
{% macro default__epoch_seconds(column) -%}unix_timestamp({{ column }}){%- endmacro %}
{% macro duckdb__epoch_seconds(column) -%}epoch({{ column }}){%- endmacro %}

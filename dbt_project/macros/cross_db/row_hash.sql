{#- A 64-bit fingerprint of a whole row (`alias`, a relation or CTE in the FROM clause), which an
    incremental model compares its rows with the last build's by instead of every column. -#}
{% macro row_hash(alias) -%}
    {{ return(adapter.dispatch('row_hash')(alias)) }}
{%- endmacro %}

{#- DuckDB reads a relation's name in an expression as its row, a struct of every column. -#}
{% macro default__row_hash(alias) -%}
    hash({{ alias }})
{%- endmacro %}

{% macro spark__row_hash(alias) -%}
    xxhash64({{ alias }}.*)
{%- endmacro %}

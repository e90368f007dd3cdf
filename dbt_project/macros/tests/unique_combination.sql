{#- Generic test: no two rows share the same values of `combination_of_columns`. -#}
{% test unique_combination(model, combination_of_columns) %}
    {{ return(adapter.dispatch('test_unique_combination')(model, combination_of_columns)) }}
{% endtest %}

{% macro default__test_unique_combination(model, combination_of_columns) -%}
    select {{ combination_of_columns | join(', ') }}, count(*) as rows_with_key
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{%- endmacro %}

{% macro duckdb__test_unique_combination(model, combination_of_columns) -%}
    {{ duckdb_duplicate_keys(model, combination_of_columns) }}
{%- endmacro %}

{#- dbt's `unique` test on DuckDB (dbt dispatches test_unique to the root project first): the same
    rows, the duplicated values of a non-null column, found as duckdb_duplicate_keys finds them. -#}
{% macro duckdb__test_unique(model, column_name) -%}
    {{ duckdb_duplicate_keys(model, [column_name], where=column_name ~ ' is not null') }}
{%- endmacro %}

{#- The keys held by more than one row, as the plain `group by ... having count(*) > 1` gives them,
    found in two passes: the 64-bit hashes held by more than one row, then the exact group-by over
    the rows with those hashes only (none, unless there is a duplicate or a collision). Grouping
    64-bit integers instead of the key's strings took the six largest uniqueness tests at a million
    customers (candidate pairs, block index, revenue lines, lifecycle: 3-15M rows each) 7.5-8.3 s
    instead of 9.6-9.9 s: they were the costliest data tests of a daily build. -#}
{% macro duckdb_duplicate_keys(model, columns, where=none) -%}
    {#- the model twice, not a CTE read twice, which DuckDB would copy whole -#}
    {%- set key = columns | join(', ') -%}
    {%- set filter = ' and ' ~ where if where else '' -%}
    select {{ key }}, count(*) as rows_with_key
    from {{ model }}
    where hash({{ key }}) in (
        select hash({{ key }}) from {{ model }}
        where true{{ filter }}
        group by hash({{ key }})
        having count(*) > 1
    ){{ filter }}
    group by {{ key }}
    having count(*) > 1
{%- endmacro %}

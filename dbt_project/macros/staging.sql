
{#- The raw zone's lineage columns, carried by every staging model (file, row, load date, when
    it was loaded, in UTC), so a mart row can be traced back to the delivered record. -#}
{% macro lineage_columns() -%}
        _source_file,
        _source_row,
        _load_date,
        {{ to_utc('_loaded_at') }} as _loaded_at
{%- endmacro %}

{#- The raw rows a staging table works out, for its `source` CTE; the table's config is
    materialized=incremental_materialization(), unique_key=primary_key and the post-hook
    delete_rows_of_replaced_partitions. A full build reads every row. An incremental build reads
    every version of the records with a row loaded since the table's newest row, or whose row came
    from a raw partition since replaced (a corrected file rebuilds its earlier load's partition):
    their latest version is worked out again, over all their versions, and delete+insert
    replaces their rows. The raw zone is otherwise append-only, so no other record's latest
    version can have changed. The filter is on the raw rows, before the versions are ranked:
    below a window, DuckDB would rank every raw row first. -#}
{% macro staged_source(system, entity, primary_key) -%}
    {%- set relation = source(system, entity) -%}
    {%- set keys = primary_key | join(', ') -%}
    {%- if is_incremental() -%}
    (
        select raw.*
        from {{ relation }} as raw
        semi join (
            select {{ keys }} from {{ relation }}
            where {{ to_utc('_loaded_at') }} > {{ newest_in_this('_loaded_at') }}
            union
            select {{ keys }} from {{ this }}
            anti join {{ raw_partitions(relation) }} as partitions using (_load_date, _loaded_at)
        ) as touched using ({{ keys }})
    )
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- The partitions of a raw source now: load date and write time (lineage_columns' form). -#}
{% macro raw_partitions(relation) -%}
    (select distinct _load_date, {{ to_utc('_loaded_at') }} as _loaded_at from {{ relation }})
{%- endmacro %}

{#- Post-hook of a staging table: delete the rows that came from a raw partition since replaced
    or removed and were not written again (staged_source worked their records out again), i.e.
    the records with no version left in raw. -#}
{% macro delete_rows_of_replaced_partitions(relation) -%}
    {%- if may_hold_outdated_rows() -%}
    delete from {{ this }}
    where not exists (
        select 1 from {{ raw_partitions(relation) }} as partitions
        where partitions._load_date = {{ this }}._load_date
            and partitions._loaded_at = {{ this }}._loaded_at
    )
    {%- endif -%}
{%- endmacro %}

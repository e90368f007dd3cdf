{#- State carried between builds by the incremental models (identity resolution, the revenue
    lines, the golden records): every row carries `resolved_at`, the start of the build that made
    it. A model works out again the upstream rows newer than its own newest row (a watermark, so a
    build that failed half-way is caught up by the next), and a post-hook deletes the rows whose
    upstream row is gone (delete_rows_gone_upstream, or the narrower ones in identity_state.sql).
    On Spark the models are plain tables (its Parquet tables cannot delete rows): every build works
    everything out again there. -#}

{#- Incremental on DuckDB; a plain table on Spark, whose Parquet tables cannot delete rows (every
    build there works everything out again). -#}
{% macro incremental_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

{#- Whether a post-hook has outdated rows to look for: not on Spark (plain tables, made whole on
    every build) and not on a full refresh, which made every row from this build's upstream rows
    (at a million customers the post-hooks cost several seconds of such a build). -#}
{% macro may_hold_outdated_rows() -%}
    {{ return(incremental_materialization() == 'incremental' and not should_full_refresh()) }}
{%- endmacro %}

{#- The stamp of this build on the rows it resolves. -#}
{% macro resolved_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The newest value of this model's column `own` (of its rows matching `where`), 1900-01-01
    while there is none: the watermark a build works out upstream rows from. -#}
{% macro newest_in_this(own, where=none) -%}
    (select coalesce(max({{ own }}), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }}
     {%- if where %} where {{ where }}{% endif %})
{%- endmacro %}

{#- True for an upstream row resolved after this model's newest row (by its column `own`): one to
    work out again. -#}
{% macro resolved_since_last_build(column, own='resolved_at') -%}
    {{ column }} > {{ newest_in_this(own) }}
{%- endmacro %}

{#- This model's own last build, to carry state forward from: none while parsing, on a first
    build, when it lacks `required_column` (built before that column existed), and on Spark,
    whose table materialisation drops the old table before building the new one. -#}
{% macro previous_build(required_column) -%}
    {%- if not execute or target.type == 'spark' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relation = load_relation(this) -%}
    {{ return(relation if relation is not none and has_column(relation, required_column) else none) }}
{%- endmacro %}

{% macro has_column(relation, column) -%}
    {{ return(column in adapter.get_columns_in_relation(relation) | map(attribute='name') | list) }}
{%- endmacro %}

{#- on-run-start: drop an incremental table built before it kept `resolved_at` (a warehouse
    from before the model was incremental), so that this build makes it afresh instead of
    failing on the missing column. dbt's relation cache forgets the dropped table, so the
    incremental materialisation then sees none. The models that keep it document it; the
    staging tables keep their state in the raw zone's `_loaded_at` instead. -#}
{% macro drop_state_without_resolved_at() -%}
    {%- if execute and incremental_materialization() == 'incremental' -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.config.materialized == 'incremental'
                and 'resolved_at' in node.columns -%}
            {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
            {%- if relation is not none and not has_column(relation, 'resolved_at') -%}
                {%- do log('dropping ' ~ relation ~ ': built before it was incremental', info=true) -%}
                {%- do adapter.drop_relation(relation) -%}
                {%- do adapter.commit() -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of a model that writes a tombstone (a key with no resolved_at) for each row gone or
    changed upstream, so that delete+insert deletes the key's row: delete the tombstones. -#}
{% macro delete_tombstones() -%}
    {%- if may_hold_outdated_rows() -%}
    delete from {{ this }} where resolved_at is null
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of a model with one row per upstream row on the same `keys` (of the upstream rows
    matching `upstream_where`): record features, comparisons, pair scores, the revenue lines.
    delete+insert already replaced the rows whose upstream row was resolved again (the watermark
    reads every one of them), so a row can only be outdated once its upstream row is gone, and
    then the model holds more rows than the upstream. A count checks that before the anti-join
    reads every row, which most days then skip. -#}
{% macro delete_rows_gone_upstream(upstream, keys, upstream_where=none) -%}
    {%- if execute and may_hold_outdated_rows() -%}
        {%- set upstream_keys -%}
            (select {{ keys | join(', ') }} from {{ upstream }}
             {%- if upstream_where %} where {{ upstream_where }}{% endif %})
        {%- endset -%}
        {%- set surplus -%}
            select (select count(*) from {{ this }}) - (select count(*) from {{ upstream_keys }} as upstream)
        {%- endset -%}
        {%- if run_query(surplus).rows[0][0] > 0 -%}
    delete from {{ this }} where ({{ keys | join(', ') }}) not in {{ upstream_keys }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

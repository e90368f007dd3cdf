{#- Incremental identity resolution: the models that carry the matching forward between builds.
    A day's records are matched into what the last build resolved instead of re-linking every
    record: record features, candidate pairs, comparisons and pair scores keep their rows and
    add those of new or changed records; every row carries `resolved_at`, the build that made it.
    A model's rows are worked out again for the upstream rows newer than its own newest row (a
    watermark, so a build that failed half-way is caught up by the next), and a row whose
    upstream row is gone or newer is deleted after the build (delete_outdated).
    On Spark the models are plain tables (its Parquet tables cannot delete rows): every build is a
    full resolution there. docs/identity.md, "Incremental matching". -#}

{% macro identity_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

{#- The inputs the EM of int_identity__match_parameters iterates over (u, patterns, levels):
    tables on Spark, which inlines a CTE wherever it is read (into each of the 15 x 4 EM
    iterations, which filled the driver heap); ephemeral on DuckDB, so a build that keeps the
    last parameters computes none of them. -#}
{% macro em_input_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'ephemeral') }}
{%- endmacro %}

{#- The stamp of this build on the rows it resolves. -#}
{% macro resolved_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The newest value of this model's column `own` (of its rows matching `where`), 1900-01-01
    while there is none: the watermark a build works out upstream rows from. -#}
{% macro newest_in_this(own, type=none, where=none) -%}
    (select coalesce(max({{ own }}), cast('1900-01-01' as {{ type or dbt.type_timestamp() }})) from {{ this }}
     {%- if where %} where {{ where }}{% endif %})
{%- endmacro %}

{#- True for an upstream row resolved after this model's newest row (by its column `own`): one to
    work out again. -#}
{% macro resolved_since_last_build(column, own='resolved_at') -%}
    {{ column }} > {{ newest_in_this(own) }}
{%- endmacro %}

{#- The record key of a source's row: <system>:<entity>:<source id>. -#}
{% macro source_record_key(source) -%}
    {{ dbt.concat(["'" ~ source.system ~ ":" ~ source.entity ~ ":'", "cast(" ~ source.source_id ~ " as " ~ dbt.type_string() ~ ")"]) }}
{%- endmacro %}

{#- Post-hook: delete, in one pass, this model's rows that one of their upstream rows (each of
    `matches` maps this model's columns to the upstream's) is gone for or, with `newer`, was
    resolved again after them. -#}
{% macro delete_outdated(upstream, matches, newer=true) -%}
    {%- if identity_materialization() == 'incremental' -%}
    delete from {{ this }}
    where
    {%- for on in matches %}
        {% if not loop.first %}or {% endif %}not exists (
            select 1 from {{ upstream }} as upstream
            where {% for mine, theirs in on.items() -%}
                upstream.{{ theirs }} = {{ this }}.{{ mine }} and
            {% endfor -%}
                {{ 'upstream.resolved_at <= ' ~ this ~ '.resolved_at' if newer else 'true' }}
        )
    {%- endfor %}
    {%- endif -%}
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

{#- Whether the match parameters are estimated again in this build: on a first build, a full
    refresh, var identity_retrain, or once the records have grown or shrunk by more than var
    identity_retrain_growth since they were estimated. Otherwise the last build's are kept, so a
    day's records are scored as yesterday's were. -#}
{% macro match_parameters_need_training(previous, features) -%}
    {%- if previous is none or flags.FULL_REFRESH or var('identity_retrain') -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set counts -%}
        select
            (select max(trained_records) from {{ previous }}) as trained_records,
            (select count(*) from {{ features }}) as records
    {%- endset -%}
    {%- set trained_records, records = run_query(counts).rows[0] -%}
    {{ return((records - trained_records) | abs > trained_records * var('identity_retrain_growth')) }}
{%- endmacro %}

{#- on-run-start: drop an incremental identity table built before it kept `resolved_at` (a
    warehouse from before incremental matching), so that this build makes it afresh instead of
    failing on the missing column. dbt's relation cache forgets the dropped table, so the
    incremental materialisation then sees none. -#}
{% macro drop_identity_state_without_resolved_at() -%}
    {%- if execute and identity_materialization() == 'incremental' -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
            {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
            {%- if relation is not none and not has_column(relation, 'resolved_at') -%}
                {%- do log('dropping ' ~ relation ~ ': built before incremental identity matching', info=true) -%}
                {%- do adapter.drop_relation(relation) -%}
                {%- do adapter.commit() -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of int_identity__source_records: delete the records no longer in staging (a live
    source's deleted rows; an entity that switched forms), which an incremental build, reading
    only newly loaded rows, cannot see. -#}
{% macro delete_source_records_gone() -%}
    {%- if identity_materialization() == 'incremental' -%}
    delete from {{ this }}
    where not exists (
        select 1 from (
        {%- for source in active_identity_sources() %}
            {%- if not loop.first %}
            union all
            {%- endif %}
            select {{ source_record_key(source) }} as record_key
            from {{ ref(source.model) }}
        {%- endfor %}
        ) as staged
        where staged.record_key = {{ this }}.record_key
    )
    {%- endif -%}
{%- endmacro %}

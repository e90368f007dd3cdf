{#- Incremental identity resolution: the models that carry the matching forward between builds.
    A day's records are matched into what the last build resolved instead of re-linking every
    record: record features, candidate pairs, comparisons and pair scores keep their rows and
    add those of new or changed records. The state they share with the other incremental models
    (resolved_at, the watermark, delete_outdated) is in incremental_state.sql.
    docs/identity.md, "Incremental matching". -#}

{#- The inputs the EM of int_identity__match_parameters iterates over (u, patterns, levels):
    tables on Spark, which inlines a CTE wherever it is read (into each of the 15 x 4 EM
    iterations, which filled the driver heap); ephemeral on DuckDB, so a build that keeps the
    last parameters computes none of them. -#}
{% macro em_input_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'ephemeral') }}
{%- endmacro %}

{#- The record key of a source's row: <system>:<entity>:<source id>. -#}
{% macro source_record_key(source) -%}
    {{ dbt.concat(["'" ~ source.system ~ ":" ~ source.entity ~ ":'", "cast(" ~ source.source_id ~ " as " ~ dbt.type_string() ~ ")"]) }}
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

{#- Post-hook of int_identity__source_records: delete the records no longer in staging (a live
    source's deleted rows; an entity that switched forms), which an incremental build, reading
    only newly loaded rows, cannot see. -#}
{% macro delete_source_records_gone() -%}
    {%- if incremental_materialization() == 'incremental' -%}
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

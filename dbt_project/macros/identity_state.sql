{#- Incremental identity resolution: the models that carry the matching forward between builds.
    A day's records are matched into what the last build resolved instead of re-linking every
    record: record features, candidate pairs, comparisons and pair scores keep their rows and
    add those of new or changed records. The state they share with the other incremental models
    (resolved_at, the watermark, delete_rows_gone_upstream) is in incremental_state.sql; the
    post-hooks below delete the outdated rows of the models that hold several rows of a record.
    docs/identity.md, "Incremental matching". -#}

{#- The inputs the EM of int_identity__match_parameters iterates over (u, patterns, levels):
    tables on Spark, which inlines a CTE wherever it is read (into each of the 15 x 4 EM
    iterations, which filled the driver heap); ephemeral on DuckDB, so a build that keeps the
    last parameters computes none of them. -#}
{% macro em_input_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'ephemeral') }}
{%- endmacro %}

{#- Before the body of an import CTE (`with features as {{ inlined_cte() }} (select * from ...)`)
    read more than once: DuckDB materialises such a CTE, a copy of every row and column of the
    table (4 s of the comparisons' 27 s at a million customers), where reading the table again
    costs next to nothing. Spark inlines CTEs anyway, and has no such keyword. -#}
{% macro inlined_cte() -%}
    {{ return(adapter.dispatch('inlined_cte')()) }}
{%- endmacro %}
{% macro default__inlined_cte() -%}
{%- endmacro %}
{% macro duckdb__inlined_cte() -%}
    not materialized
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

{#- The newest `_loaded_at` and `_load_date` of each source's records here, by
    '<system>:<entity>', as literals: compared with a subquery instead, a staging view's rows are
    all normalised before the filter drops those loaded before (DuckDB cannot push it below the
    view). A source with no records here yet reads from 1900-01-01, and so does one with records
    here from a raw partition since replaced or removed (a corrected file): the latest version of
    such a record can now be an older one, loaded before the newest load here, which the
    watermark would skip. -#}
{% macro newest_loads_by_source() -%}
    {%- set newest = {} -%}
    {%- if execute -%}
        {%- set query -%}
            {%- for identity_source in active_identity_sources() %}
            {%- set raw = source(form_system(identity_source.system, identity_source.entity), identity_source.entity) %}
            {%- if not loop.first %}
            union all
            {%- endif %}
            select
                '{{ identity_source.system }}:{{ identity_source.entity }}',
                cast(max(here._loaded_at) as {{ dbt.type_string() }}),
                cast(max(here._load_date) as {{ dbt.type_string() }}),
                count(*) filter (where here._load_date is not null and partitions._load_date is null)
            from (
                select distinct _load_date, _loaded_at from {{ this }}
                where system = '{{ identity_source.system }}' and entity = '{{ identity_source.entity }}'
            ) as here
            left join {{ raw_partitions(raw) }} as partitions
                on here._load_date = partitions._load_date and here._loaded_at = partitions._loaded_at
            {%- endfor %}
        {%- endset -%}
        {%- for key, loaded_at, load_date, replaced in run_query(query).rows if loaded_at and not replaced -%}
            {%- do newest.update({key: {'_loaded_at': loaded_at, '_load_date': load_date}}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(newest) }}
{%- endmacro %}

{#- Post-hook of int_identity__source_records: delete the records no longer in staging (a live
    source's deleted rows; an entity that switched forms), which an incremental build, reading
    only newly loaded rows, cannot see. -#}
{% macro delete_source_records_gone() -%}
    {%- if may_hold_outdated_rows() -%}
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

{#- Post-hooks of a model keyed by record (the block index, the candidate pairs), which can hold
    several rows of a record or none: the outdated rows, in two statements narrowed to the rows a
    build can have outdated (in one, DuckDB plans the alternatives as scans of every row).
    First the rows of a record resolved again since this model's last build (its newest row
    before this build: the rows of older builds were checked then) that this build did not make
    again. -#}
{% macro delete_rows_of_records_resolved_again(records, record_keys) -%}
    {%- if may_hold_outdated_rows() -%}
    {%- set last_build = newest_in_this('resolved_at', where='resolved_at < ' ~ resolved_at()) %}
    delete from {{ this }}
    where (
        {%- for key in record_keys %}
        {% if not loop.first %}or {% endif %}{{ key }} in (
            select record_key from {{ records }} where resolved_at > {{ last_build }}
        )
        {%- endfor %}
    ) and (
        {%- for key in record_keys %}
        {% if not loop.first %}or {% endif %}not exists (
            select 1 from {{ records }} as upstream
            where upstream.record_key = {{ this }}.{{ key }}
                and upstream.resolved_at <= {{ this }}.resolved_at
        )
        {%- endfor %}
    )
    {%- endif -%}
{%- endmacro %}

{#- ... then the rows of a record gone: an anti-join on the record keys alone. Nothing upstream
    keeps a trace of a deleted record, so this one still reads every row. -#}
{% macro delete_rows_of_records_gone(records, record_keys) -%}
    {%- if may_hold_outdated_rows() -%}
    delete from {{ this }}
    where
    {%- for key in record_keys %}
        {% if not loop.first %}or {% endif %}{{ key }} not in (select record_key from {{ records }})
    {%- endfor %}
    {%- endif -%}
{%- endmacro %}

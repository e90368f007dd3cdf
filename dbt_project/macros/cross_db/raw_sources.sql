{#- The raw zone is Parquet on disk (raw/<system>/<entity>/load_date=<d>/*.parquet). DuckDB reads
    it through each source's `external_location` (read_parquet, rendered by dbt-duckdb). Spark
    has no such hook, so before a run every raw source that an enabled node reads becomes a view
    over its Parquet glob, in a database named like the source's schema (raw_<system>). Run from
    `on-run-start` (dbt_project.yml). -#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {%- set used = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- for parent in node.depends_on.nodes if parent.startswith('source.') -%}
                {%- if parent not in used -%}{%- do used.append(parent) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set schemas = [] -%}
        {%- for unique_id in used | sort -%}
            {%- set source_node = graph.sources[unique_id] -%}
            {%- if source_node.schema not in schemas -%}
                {%- do run_query('create database if not exists ' ~ source_node.schema) -%}
                {%- do schemas.append(source_node.schema) -%}
            {%- endif -%}
            {%- do run_query(
                'create or replace view ' ~ source_node.schema ~ '.' ~ source_node.identifier
                ~ ' as select * from parquet.`' ~ raw_parquet_glob(source_node) ~ '`'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The Parquet glob of a raw source: the path inside its `external_location`
    (read_parquet('<glob>', ...), rendered by orchestration/dbt_sources.py), so both engines
    read the very same files. -#}
{% macro raw_parquet_glob(source_node) -%}
    {%- set location = source_node.meta.get('external_location', '') -%}
    {%- if "'" not in location -%}
        {{ exceptions.raise_compiler_error(
            'source ' ~ source_node.unique_id ~ ' has no read_parquet external_location') }}
    {%- endif -%}
    {{ return(location.split("'")[1]) }}
{%- endmacro %}

{#- Live sources (sources/live/): raw keeps every extracted version, and an overlap re-read can
    land the same version twice. Rank 1 is the latest: the change cursor decides, then the later
    extraction (_loaded_at, then the extract file, whose name carries the run time). -#}
{% macro live_version_rank(primary_key, cursor) -%}
    row_number() over (
        partition by {{ primary_key | join(', ') }}
        order by {{ cursor }} desc, _loaded_at desc, _source_file desc, _source_row desc
    )
{%- endmacro %}

{#- Live models are built while the source's connection variable is set, like its contract:
    without it the raw zone holds nothing for them. Dagster re-parses the manifest when the set of
    enabled live sources changes, so its graph and the `dbt build` it launches agree. -#}
{% macro live_source_enabled(variable) -%}
    {{ return(env_var(variable, '') != '') }}
{%- endmacro %}

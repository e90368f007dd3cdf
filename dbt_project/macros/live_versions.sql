{#- Live sources (sources/live/): raw keeps every extracted version, and an overlap re-read can
    land the same version twice. Rank 1 is the latest: the change cursor decides, then the later
    extraction (_loaded_at, then the extract file, whose name carries the run time). -#}
{% macro live_version_rank(primary_key, cursor) -%}
    row_number() over (
        partition by {{ primary_key | join(', ') }}
        order by {{ cursor }} desc, _loaded_at desc, _source_file desc, _source_row desc
    )
{%- endmacro %}

{#- Live models are built only on request (`--vars '{cdw_live_sources: true}'`) and while the
    source's connection variable is set (like its contract): without it the raw zone holds nothing
    for them. Not by default, so the Dagster manifest and a `dbt build` it launches always agree
    (docs/live-sources.md). -#}
{% macro live_source_enabled(variable) -%}
    {{ return(var('cdw_live_sources', false) and env_var(variable, '') != '') }}
{%- endmacro %}

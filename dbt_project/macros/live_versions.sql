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

{#- True while `system`'s live form (generated macro live_forms(), from sources/live/*.yml
    `live_form_of`) is enabled and serves `entity`: downstream then reads the live entity instead
    of the delivered files' (docs/live-sources.md, "One form per entity"). -#}
{% macro uses_live_form(system, entity) -%}
    {%- set form = live_forms().get(system) -%}
    {{ return(form is not none and entity in form.entities and live_source_enabled(form.connection_env)) }}
{%- endmacro %}

{#- ref() of the staging model `system`.`entity` is read from: its live twin while the live form
    is enabled, else the file model. Models downstream of staging use this for every entity a live
    database can replace, so a deployment never counts one entity twice. -#}
{% macro staging_ref(system, entity) -%}
    {{ return(ref('stg_' ~ form_system(system, entity) ~ '__' ~ entity)) }}
{%- endmacro %}

{#- The system `system`.`entity` is read from: its live twin's while the live form is enabled. -#}
{% macro form_system(system, entity) -%}
    {{ return(live_forms()[system].live_system if uses_live_form(system, entity) else system) }}
{%- endmacro %}

{#- identity_sources() with, for each customer-like entity, only the form in use (file or live). -#}
{% macro active_identity_sources() -%}
    {%- set active = [] -%}
    {%- for source in identity_sources() if source.live == uses_live_form(source.system, source.entity) -%}
        {%- do active.append(source) -%}
    {%- endfor -%}
    {{ return(active) }}
{%- endmacro %}

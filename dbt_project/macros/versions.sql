{#- Rank of a row among the versions of its primary key; 1 is the latest. The raw zone keeps
    every delivered version: the change cursor decides, then the load date, then the file row. -#}
{% macro version_rank(primary_key, cursor=none) -%}
    row_number() over (
        partition by {{ primary_key | join(', ') }}
        order by {% if cursor %}{{ cursor }} desc, {% endif %}_load_date desc, _source_row desc
    )
{%- endmacro %}

{#- A subquery of the latest version of every record of a raw source (for reconciliation
    tests, which read the sources directly instead of staging). While a live database replaces
    the entity (uses_live_form), its raw versions are read instead, ranked as live staging ranks
    them. -#}
{% macro latest_source_rows(system, entity, primary_key, cursor=none) -%}
    {%- set relation = source(form_system(system, entity), entity) %}
    {%- if uses_live_form(system, entity) %}
        {%- set rank = live_version_rank(primary_key, cursor) %}
    {%- else %}
        {%- set rank = version_rank(primary_key, cursor) %}
    {%- endif %}
    (select * from (
        select *, {{ rank }} as version_rank
        from {{ relation }}
    ) as versions where version_rank = 1)
{%- endmacro %}

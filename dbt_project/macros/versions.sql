{#- Rank of a row among the versions of its primary key; 1 is the latest. The raw zone keeps
    every delivered version: the change cursor decides, then the load date, then the file row. -#}
{% macro version_rank(primary_key, cursor=none) -%}
    row_number() over (
        partition by {{ primary_key | join(', ') }}
        order by {% if cursor %}{{ cursor }} desc, {% endif %}_load_date desc, _source_row desc
    )
{%- endmacro %}

{#- A subquery of the latest version of every record of a raw source (for reconciliation
    tests, which read the sources directly instead of staging). -#}
{% macro latest_source_rows(system, entity, primary_key, cursor=none) -%}
    (select * from (
        select *, {{ version_rank(primary_key, cursor) }} as version_rank
        from {{ source(system, entity) }}
    ) as versions where version_rank = 1)
{%- endmacro %}

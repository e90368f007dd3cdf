{#- Rank of a row among the versions of its primary key; 1 is the latest. The raw zone keeps
    every delivered version: the change cursor decides, then the load date, then the file row. -#}
{% macro version_rank(primary_key, cursor=none) -%}
    row_number() over (
        partition by {{ primary_key | join(', ') }}
        order by {% if cursor %}{{ cursor }} desc, {% endif %}_load_date desc, _source_row desc
    )
{%- endmacro %}

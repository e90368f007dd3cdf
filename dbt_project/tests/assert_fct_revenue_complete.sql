{{ config(meta={'dagster': {'ref': {'name': 'fct_revenue'}}}) }}
{#- No revenue line lost or duplicated: every unified line is either in the fact or rejected. -#}
with lines as (select count(*) as line_count from {{ ref('int_revenue__lines') }}),
facts as (select count(*) as fact_count from {{ ref('fct_revenue') }}),
rejected as (select count(*) as rejected_count from {{ ref('int_revenue__rejected_lines') }}),

final as (
    select * from lines cross join facts cross join rejected
    where line_count <> fact_count + rejected_count
)

select * from final

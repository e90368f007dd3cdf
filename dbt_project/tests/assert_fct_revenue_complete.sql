{#- No revenue line lost or duplicated between the unified lines and the fact, and every line
    has an FX rate (a missing rate would leave amount_reporting null). -#}
with lines as (select count(*) as line_count from {{ ref('int_revenue__lines') }}),
facts as (
    select count(*) as fact_count, count(amount_reporting) as converted_count
    from {{ ref('fct_revenue') }}
),

final as (
    select * from lines cross join facts
    where line_count <> fact_count or converted_count <> fact_count
)

select * from final

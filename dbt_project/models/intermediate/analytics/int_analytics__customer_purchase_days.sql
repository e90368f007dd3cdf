{#- Days on which a customer bought: accepted sale lines (credit notes excluded) of known
    customers, in the reporting currency, up to the as-of date (a record dated after the latest
    load is left out until a load reaches its date, so no purchase lies after the as-of date).
    One row per customer and purchase date. -#}
with lines as (select * from {{ ref('int_revenue__customer_lines') }}),
as_of as (select * from {{ ref('int_analytics__as_of_date') }}),

sales as (
    select lines.*
    from lines
    cross join as_of
    where lines.customer_id is not null and lines.is_sale
        and lines.revenue_date <= as_of.as_of_date
),

final as (
    select
        customer_id,
        revenue_date as purchase_date,
        count(distinct {{ dbt.concat(["system", "'|'", "order_id"]) }}) as order_count,
        sum(amount_reporting) as revenue_amount
    from sales
    group by customer_id, revenue_date
)

select * from final

{#- Days on which a customer bought: accepted sale lines (credit notes excluded) of known
    customers, in the reporting currency. One row per customer and purchase date. -#}
with lines as (select * from {{ ref('int_revenue__customer_lines') }}),

sales as (
    select * from lines where customer_id is not null and is_sale
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

{#- Revenue per customer and product line (credits included), with the first and last purchase
    of the line and whether it is the customer's primary line (most revenue, then alphabetical).
    One row per customer and product line bought. -#}
with lines as (select * from {{ ref('int_revenue__customer_lines') }}),

attributed as (
    select * from lines where customer_id is not null and product_line is not null
),

per_line as (
    select
        customer_id,
        product_line,
        sum(amount_reporting) as revenue_amount,
        count(distinct case when is_sale then {{ dbt.concat(["system", "'|'", "order_id"]) }} end)
            as order_count,
        min(case when is_sale then revenue_date end) as first_purchase_date,
        max(case when is_sale then revenue_date end) as last_purchase_date
    from attributed
    group by customer_id, product_line
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id order by revenue_amount desc, product_line
        ) as line_rank,
        row_number() over (
            partition by customer_id order by first_purchase_date, product_line
        ) as adoption_rank
    from per_line
),

final as (
    select
        customer_id, product_line, revenue_amount, order_count,
        first_purchase_date, last_purchase_date,
        cast(adoption_rank as {{ dbt.type_bigint() }}) as adoption_rank,
        line_rank = 1 as is_primary_line
    from ranked
)

select * from final

{#- Acquisition cohort of every customer who ever bought: the month of the first purchase and
    the product line of the first purchase (ties: alphabetically first).
    One row per customer with a purchase. -#}
with revenue as (select * from {{ ref('int_revenue__customer_lines') }}),

purchases as (
    select customer_id, revenue_date, product_line
    from revenue
    where customer_id is not null and is_sale and amount_reporting > 0
),

first_purchases as (
    select
        customer_id,
        min(revenue_date) as first_purchase_date,
        min({{ dbt.concat([dbt.safe_cast('revenue_date', dbt.type_string()), "'|'",
                          "coalesce(product_line, 'unknown')"]) }}) as first_date_and_line
    from purchases
    group by customer_id
),

final as (
    select
        first_purchases.customer_id,
        cast({{ dbt.date_trunc('month', 'first_purchases.first_purchase_date') }} as date)
            as cohort_month,
        {{ dbt.split_part('first_purchases.first_date_and_line', "'|'", 2) }} as first_product_line
    from first_purchases
)

select * from final

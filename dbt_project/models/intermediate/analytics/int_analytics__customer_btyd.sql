{#- A customer's purchase history in the conventions of the BG/NBD literature, as of the latest
    load date: a "purchase" is a purchase day; frequency x counts the repeat purchase days;
    recency t_x and age T are in days from the first purchase; the repeat value averages the
    sales of the repeat purchase days (the first is left out, as the Gamma-Gamma model expects;
    it is kept apart as the first purchase amount).
    One row per customer with at least one purchase. -#}
with purchase_days as (select * from {{ ref('int_analytics__customer_purchase_days') }}),
as_of as (select * from {{ ref('int_analytics__as_of_date') }}),

per_customer as (
    select
        customer_id,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        count(*) as purchase_day_count,
        sum(revenue_amount) as sales_amount
    from purchase_days
    group by customer_id
),

first_day as (
    select purchase_days.customer_id, purchase_days.revenue_amount as first_day_amount
    from purchase_days
    inner join per_customer
        on purchase_days.customer_id = per_customer.customer_id
        and purchase_days.purchase_date = per_customer.first_purchase_date
),

final as (
    select
        per_customer.customer_id,
        as_of.as_of_date,
        per_customer.first_purchase_date,
        per_customer.last_purchase_date,
        per_customer.purchase_day_count - 1 as frequency,
        {{ dbt.datediff('per_customer.first_purchase_date', 'per_customer.last_purchase_date', 'day') }}
            as recency_days,
        {{ dbt.datediff('per_customer.first_purchase_date', 'as_of.as_of_date', 'day') }} as age_days,
        {{ dbt.datediff('per_customer.last_purchase_date', 'as_of.as_of_date', 'day') }}
            as days_since_last_purchase,
        case when per_customer.purchase_day_count > 1
            then {{ divide_money('(per_customer.sales_amount - first_day.first_day_amount)',
                                 '(per_customer.purchase_day_count - 1)') }}
            else 0 end as average_repeat_purchase_amount,
        first_day.first_day_amount as first_purchase_amount
    from per_customer
    inner join first_day on per_customer.customer_id = first_day.customer_id
    cross join as_of
)

select * from final

{#- How long customers who buy a second time take to do it: the var
    one_time_buyer_gap_percentile quantile of the days from the first to the second purchase day,
    over every customer with a second purchase day up to the as-of date. A one-time buyer who
    has waited longer than this is churned (mart_customer_churn). One row. -#}
with purchase_days as (select * from {{ ref('int_analytics__customer_purchase_days') }}),

numbered as (
    select
        customer_id,
        purchase_date,
        row_number() over (partition by customer_id order by purchase_date) as purchase_number
    from purchase_days
),

second_purchases as (
    select
        first_day.customer_id,
        {{ dbt.datediff('first_day.purchase_date', 'second_day.purchase_date', 'day') }} as gap_days
    from numbered as first_day
    inner join numbered as second_day
        on first_day.customer_id = second_day.customer_id
        and first_day.purchase_number = 1
        and second_day.purchase_number = 2
),

final as (
    select
        cast(ceil(percentile_cont({{ var('one_time_buyer_gap_percentile') }})
            within group (order by gap_days)) as {{ dbt.type_bigint() }}) as second_purchase_gap_days,
        cast(count(*) as {{ dbt.type_bigint() }}) as second_purchase_count
    from second_purchases
)

select * from final

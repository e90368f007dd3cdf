{#- Lifecycle stage of every customer at the end of every month from the month they became
    known (first_seen_at, or the first purchase if earlier) to the month of the as-of date, and the stage of the month before.
    Stage rules in _lifecycle__models.yml. One row per customer and month. -#}
with customers as (select * from {{ ref('dim_customers') }}),
purchase_days as (select * from {{ ref('int_analytics__customer_purchase_days') }}),
tickets as (select * from {{ ref('int_analytics__tickets') }}),
as_of as (select * from {{ ref('int_analytics__as_of_date') }}),

purchase_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'purchase_date') }} as date) as activity_month,
        count(*) as purchase_day_count,
        max(purchase_date) as last_purchase_date
    from purchase_days
    group by customer_id, cast({{ dbt.date_trunc('month', 'purchase_date') }} as date)
),

score_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'opened_date') }} as date) as activity_month,
        sum(satisfaction_score) as score_sum,
        count(satisfaction_score) as score_count
    from tickets
    where customer_id is not null and satisfaction_score is not null
    group by customer_id, cast({{ dbt.date_trunc('month', 'opened_date') }} as date)
),

month_numbers as (
    {{ dbt.generate_series(600) }}
),

bounds as (
    select
        least(
            min(cast({{ dbt.date_trunc('month', 'customers.first_seen_at') }} as date)),
            coalesce((select min(activity_month) from purchase_months),
                     min(cast({{ dbt.date_trunc('month', 'customers.first_seen_at') }} as date)))
        ) as first_month,
        max(cast({{ dbt.date_trunc('month', 'as_of.as_of_date') }} as date)) as last_month
    from customers
    cross join as_of
),

-- every month from the first customer to the as-of date (50 years at most), so the
-- 12-month window below can count rows
calendar as (
    select cast({{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'bounds.first_month') }}
        as date) as activity_month
    from month_numbers
    cross join bounds
    where {{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'bounds.first_month') }}
        <= bounds.last_month
),

first_purchase_months as (
    select customer_id, min(activity_month) as first_purchase_month
    from purchase_months
    group by customer_id
),

-- a customer's months start when they were first seen, or bought, whichever came first
customer_months as (
    select customers.customer_id, calendar.activity_month
    from customers
    left join first_purchase_months on customers.customer_id = first_purchase_months.customer_id
    inner join calendar
        on calendar.activity_month >= least(
            cast({{ dbt.date_trunc('month', 'customers.first_seen_at') }} as date),
            coalesce(first_purchase_months.first_purchase_month,
                     cast({{ dbt.date_trunc('month', 'customers.first_seen_at') }} as date)))
    cross join as_of
    where calendar.activity_month <= as_of.as_of_date
),

filled as (
    select
        customer_months.customer_id,
        customer_months.activity_month,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'customer_months.activity_month')) }}
            as date) as month_end_date,
        coalesce(purchase_months.purchase_day_count, 0) as purchase_day_count,
        purchase_months.last_purchase_date,
        coalesce(score_months.score_sum, 0) as score_sum,
        coalesce(score_months.score_count, 0) as score_count
    from customer_months
    left join purchase_months
        on customer_months.customer_id = purchase_months.customer_id
        and customer_months.activity_month = purchase_months.activity_month
    left join score_months
        on customer_months.customer_id = score_months.customer_id
        and customer_months.activity_month = score_months.activity_month
),

running as (
    select
        customer_id, activity_month, month_end_date,
        sum(purchase_day_count) over (
            partition by customer_id order by activity_month rows unbounded preceding
        ) as purchase_days_to_date,
        sum(purchase_day_count) over (
            partition by customer_id order by activity_month rows 11 preceding
        ) as purchase_days_12m,
        max(last_purchase_date) over (
            partition by customer_id order by activity_month rows unbounded preceding
        ) as last_purchase_date,
        sum(score_sum) over (
            partition by customer_id order by activity_month rows unbounded preceding
        ) as score_sum_to_date,
        sum(score_count) over (
            partition by customer_id order by activity_month rows unbounded preceding
        ) as score_count_to_date
    from filled
),

staged as (
    select
        *,
        case
            when purchase_days_to_date = 0 then 'prospect'
            when {{ dbt.datediff('last_purchase_date', 'month_end_date', 'day') }}
                > {{ var('churn_inactivity_days') }} then 'lapsed'
            when purchase_days_12m >= {{ var('loyal_min_orders') }}
                and score_count_to_date > 0
                and score_sum_to_date * 1.0 / score_count_to_date >= {{ var('advocate_min_score') }}
                then 'advocate'
            when purchase_days_12m >= {{ var('loyal_min_orders') }} then 'loyal'
            when purchase_days_to_date >= 2 then 'repeat_buyer'
            else 'first_time_buyer'
        end as lifecycle_stage
    from running
),

final as (
    select
        customer_id,
        activity_month,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_id order by activity_month)
            as previous_stage,
        coalesce(
            lifecycle_stage <> lag(lifecycle_stage) over (partition by customer_id order by activity_month),
            false
        ) as is_stage_change,
        cast(purchase_days_to_date as {{ dbt.type_bigint() }}) as purchase_days_to_date,
        cast(purchase_days_12m as {{ dbt.type_bigint() }}) as purchase_days_12m,
        last_purchase_date,
        case when score_count_to_date > 0
            then cast(round(score_sum_to_date * 1.0 / score_count_to_date, 4) as double)
        end as average_satisfaction_score
    from staged
)

select * from final

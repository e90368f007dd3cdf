{#- Monthly acquisition cohorts x months since acquisition, for all customers (dimension 'all')
    and split by segment and by first product line. One row per dimension, dimension_value,
    cohort_month and activity month from the cohort month to the last month with revenue. -#}
with cohorts as (select * from {{ ref('int_revenue__customer_cohorts') }}),
customer_months as (select * from {{ ref('int_revenue__customer_months') }}),
customers as (select * from {{ ref('dim_customers') }}),

calendar as (
    select distinct activity_month from customer_months
),

cohort_dimensions as (
    select customer_id, cohort_month, 'all' as dimension, 'all' as dimension_value from cohorts
    union all
    select cohorts.customer_id, cohorts.cohort_month, 'segment', customers.customer_segment
    from cohorts
    inner join customers on cohorts.customer_id = customers.customer_id
    union all
    select customer_id, cohort_month, 'first_product_line', first_product_line from cohorts
),

member_months as (
    select
        members.dimension, members.dimension_value, members.cohort_month,
        calendar.activity_month, members.customer_id,
        coalesce(activity.is_active, false) as is_active,
        coalesce(activity.revenue, 0) as revenue,
        coalesce(first_month.revenue, 0) as initial_revenue
    from cohort_dimensions as members
    inner join calendar on calendar.activity_month >= members.cohort_month
    left join customer_months as activity
        on members.customer_id = activity.customer_id
        and calendar.activity_month = activity.activity_month
    left join customer_months as first_month
        on members.customer_id = first_month.customer_id
        and members.cohort_month = first_month.activity_month
),

cohort_months as (
    select
        dimension, dimension_value, cohort_month, activity_month,
        count(*) as cohort_size,
        sum(case when is_active then 1 else 0 end) as customers_active,
        sum(revenue) as revenue,
        sum(initial_revenue) as initial_revenue,
        sum(case when revenue < initial_revenue then revenue else initial_revenue end)
            as retained_revenue
    from member_months
    group by dimension, dimension_value, cohort_month, activity_month
),

final as (
    select
        dimension, dimension_value, cohort_month,
        cast({{ dbt.datediff('cohort_month', 'activity_month', 'month') }} as {{ dbt.type_bigint() }})
            as months_since_acquisition,
        activity_month,
        cast(cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(customers_active as {{ dbt.type_bigint() }}) as customers_active,
        cast(round(customers_active * 1.0 / cohort_size, 6) as double) as logo_retention,
        cast(revenue as {{ money_type() }}) as revenue,
        cast(initial_revenue as {{ money_type() }}) as initial_revenue,
        case when initial_revenue > 0
            then cast(round(retained_revenue * 1.0 / initial_revenue, 6) as double) end as revenue_retention,
        case when initial_revenue > 0
            then cast(round(revenue * 1.0 / initial_revenue, 6) as double) end as net_revenue_retention,
        '{{ var("reporting_currency") }}' as reporting_currency
    from cohort_months
)

select * from final

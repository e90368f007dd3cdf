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

{#- each member with the revenue of its cohort month (its initial revenue) -#}
members as (
    select
        cohort_dimensions.*,
        coalesce(first_month.revenue, 0) as initial_revenue
    from cohort_dimensions
    left join customer_months as first_month
        on cohort_dimensions.customer_id = first_month.customer_id
        and cohort_dimensions.cohort_month = first_month.activity_month
),

{#- What a cohort's every month shares: its size, its initial revenue, and what its members
    retain in a month without revenue (least(0, initial), not 0 below an initial loss). The
    months with revenue are added below from the members' revenue months alone: a grid of
    every member and month was 3 x 1M customers x their months at 1M customers (23 s). -#}
cohort_totals as (
    select
        dimension, dimension_value, cohort_month,
        count(*) as cohort_size,
        sum(initial_revenue) as initial_revenue,
        sum(least(initial_revenue, 0)) as retained_revenue_without_revenue
    from members
    group by dimension, dimension_value, cohort_month
),

member_revenue_months as (
    select
        members.dimension, members.dimension_value, members.cohort_month,
        activity.activity_month,
        sum(case when activity.is_active then 1 else 0 end) as customers_active,
        sum(activity.revenue) as revenue,
        sum(least(activity.revenue, members.initial_revenue) - least(members.initial_revenue, 0))
            as retained_revenue_with_revenue
    from members
    inner join customer_months as activity
        on members.customer_id = activity.customer_id
        and activity.activity_month >= members.cohort_month
    group by members.dimension, members.dimension_value, members.cohort_month,
        activity.activity_month
),

cohort_months as (
    select
        totals.dimension, totals.dimension_value, totals.cohort_month, calendar.activity_month,
        totals.cohort_size,
        coalesce(activity.customers_active, 0) as customers_active,
        coalesce(activity.revenue, 0) as revenue,
        totals.initial_revenue,
        totals.retained_revenue_without_revenue
            + coalesce(activity.retained_revenue_with_revenue, 0) as retained_revenue
    from cohort_totals as totals
    inner join calendar on calendar.activity_month >= totals.cohort_month
    left join member_revenue_months as activity
        on totals.dimension = activity.dimension
        and totals.dimension_value = activity.dimension_value
        and totals.cohort_month = activity.cohort_month
        and calendar.activity_month = activity.activity_month
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

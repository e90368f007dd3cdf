{#- Recency, frequency, monetary value and tenure per customer in the conventions of the BG/NBD
    literature (a "purchase" is a purchase day; frequency counts repeat purchase days; recency
    and age T are in days from the first purchase; monetary value averages the repeat purchase
    days), RFM quintile scores and segments, and a heuristic customer lifetime value (see the
    YAML). Evaluated as of the latest load date. One row per customer with at least one purchase. -#}
with purchase_days as (select * from {{ ref('int_analytics__customer_purchase_days') }}),
customers as (select * from {{ ref('dim_customers') }}),
totals as (select * from {{ ref('int_revenue__customer_totals') }}),
as_of as (select * from {{ ref('int_analytics__as_of_date') }}),

per_customer as (
    select
        purchase_days.customer_id,
        min(purchase_days.purchase_date) as first_purchase_date,
        max(purchase_days.purchase_date) as last_purchase_date,
        count(*) as purchase_day_count,
        sum(purchase_days.revenue_amount) as sales_amount
    from purchase_days
    group by purchase_days.customer_id
),

first_day as (
    select purchase_days.customer_id, purchase_days.revenue_amount as first_day_amount
    from purchase_days
    inner join per_customer
        on purchase_days.customer_id = per_customer.customer_id
        and purchase_days.purchase_date = per_customer.first_purchase_date
),

btyd as (
    select
        per_customer.customer_id,
        per_customer.first_purchase_date,
        per_customer.last_purchase_date,
        as_of.as_of_date,
        per_customer.purchase_day_count - 1 as frequency,
        {{ dbt.datediff('per_customer.first_purchase_date', 'per_customer.last_purchase_date', 'day') }}
            as recency_days,
        {{ dbt.datediff('per_customer.first_purchase_date', 'as_of.as_of_date', 'day') }} as age_days,
        {{ dbt.datediff('per_customer.last_purchase_date', 'as_of.as_of_date', 'day') }}
            as days_since_last_purchase,
        case when per_customer.purchase_day_count > 1
            then (per_customer.sales_amount - first_day.first_day_amount)
                / (per_customer.purchase_day_count - 1)
            else 0 end as average_repeat_purchase_amount,
        per_customer.sales_amount / per_customer.purchase_day_count as average_purchase_amount,
        coalesce(totals.lifetime_revenue, 0) as lifetime_revenue_amount,
        coalesce(totals.t12m_revenue, 0) as t12m_revenue_amount
    from per_customer
    inner join first_day on per_customer.customer_id = first_day.customer_id
    cross join as_of
    left join totals on per_customer.customer_id = totals.customer_id
),

scored as (
    select
        *,
        ntile(5) over (order by days_since_last_purchase desc, customer_id) as recency_score,
        ntile(5) over (order by frequency, customer_id) as frequency_score,
        ntile(5) over (order by lifetime_revenue_amount, customer_id) as monetary_score
    from btyd
),

segmented as (
    select
        *,
        case
            when recency_score >= 4 and frequency_score >= 4 then 'champions'
            when recency_score >= 3 and frequency_score >= 4 then 'loyal'
            when recency_score >= 4 and frequency_score = 1 then 'new'
            when recency_score >= 4 then 'potential_loyalists'
            when recency_score = 3 then 'needs_attention'
            when recency_score <= 2 and frequency_score >= 4 then 'cannot_lose'
            when recency_score <= 2 and frequency_score = 3 then 'at_risk'
            else 'hibernating'
        end as rfm_segment,
        -- purchase days expected over the horizon at the customer's own rate since the first
        -- purchase; the age counts as a year at least, so a customer first seen last week is
        -- not projected to buy every week
        (frequency + 1) * 1.0 / greatest(age_days, 365) * {{ var('clv_horizon_days') }}
            * average_purchase_amount as horizon_value_amount,
        case when days_since_last_purchase <= {{ var('churn_inactivity_days') }} then 1 else 0 end
            as is_recently_active_flag
    from scored
),

segment_rates as (
    select
        rfm_segment,
        avg(is_recently_active_flag * 1.0) as segment_active_share
    from segmented
    group by rfm_segment
),

valued as (
    select
        segmented.*,
        segmented.horizon_value_amount * segment_rates.segment_active_share as clv_amount
    from segmented
    inner join segment_rates on segmented.rfm_segment = segment_rates.rfm_segment
),

final as (
    select
        valued.customer_id,
        customers.customer_segment,
        valued.as_of_date,
        valued.first_purchase_date,
        valued.last_purchase_date,
        cast(valued.frequency as {{ dbt.type_bigint() }}) as frequency,
        cast(valued.recency_days as {{ dbt.type_bigint() }}) as recency_days,
        cast(valued.age_days as {{ dbt.type_bigint() }}) as age_days,
        cast(valued.days_since_last_purchase as {{ dbt.type_bigint() }}) as days_since_last_purchase,
        cast(round(valued.average_repeat_purchase_amount, 2) as {{ money_type() }})
            as average_repeat_purchase_amount,
        cast(valued.lifetime_revenue_amount as {{ money_type() }}) as lifetime_revenue_amount,
        cast(valued.t12m_revenue_amount as {{ money_type() }}) as t12m_revenue_amount,
        cast(valued.recency_score as {{ dbt.type_int() }}) as recency_score,
        cast(valued.frequency_score as {{ dbt.type_int() }}) as frequency_score,
        cast(valued.monetary_score as {{ dbt.type_int() }}) as monetary_score,
        {{ dbt.concat([
            dbt.safe_cast('valued.recency_score', dbt.type_string()),
            dbt.safe_cast('valued.frequency_score', dbt.type_string()),
            dbt.safe_cast('valued.monetary_score', dbt.type_string())]) }} as rfm_cell,
        valued.rfm_segment,
        cast(round(valued.clv_amount, 2) as {{ money_type() }}) as clv_amount,
        cast(round(avg(valued.clv_amount) over (partition by valued.rfm_segment), 2)
            as {{ money_type() }}) as segment_average_clv_amount,
        '{{ var("reporting_currency") }}' as reporting_currency
    from valued
    inner join customers on valued.customer_id = customers.customer_id
)

select * from final

{#- Everything the churn rules look at, per customer, as of int_analytics__as_of_date:
    purchases, subscriptions (the last cancel and the first purchase after it), the latest long
    purchase gap (longer than var churn_inactivity_days, followed by a purchase) and recent
    support experiences. One row per customer in dim_customers. -#}
with customers as (select * from {{ ref('dim_customers') }}),
as_of as (select * from {{ ref('int_analytics__as_of_date') }}),
totals as (select * from {{ ref('int_revenue__customer_totals') }}),
purchase_days as (select * from {{ ref('int_analytics__customer_purchase_days') }}),
product_lines as (select * from {{ ref('int_analytics__customer_product_lines') }}),
subscriptions as (select * from {{ ref('int_analytics__subscriptions') }}),
tickets as (select * from {{ ref('int_analytics__tickets') }}),

subscription_summary as (
    select
        customer_id,
        count(*) as subscription_count,
        sum(case when is_active then 1 else 0 end) as active_subscription_count,
        max(cancelled_date) as last_cancelled_date
    from subscriptions
    where customer_id is not null
    group by customer_id
),

last_cancel as (
    select customer_id, cancel_reason, product_line
    from (
        select
            *,
            row_number() over (
                partition by customer_id order by cancelled_at desc, subscription_id desc
            ) as recency_rank
        from subscriptions
        where customer_id is not null and cancelled_at is not null
    ) as cancels
    where recency_rank = 1
),

purchase_after_cancel as (
    select
        subscription_summary.customer_id,
        min(purchase_days.purchase_date) as first_purchase_after_cancel_date
    from subscription_summary
    inner join purchase_days
        on subscription_summary.customer_id = purchase_days.customer_id
        and purchase_days.purchase_date > {{ dbt.dateadd(
            'day', var('churn_grace_days'), 'subscription_summary.last_cancelled_date') }}
    group by subscription_summary.customer_id
),

gaps as (
    select
        customer_id,
        purchase_date,
        lag(purchase_date) over (partition by customer_id order by purchase_date)
            as previous_purchase_date
    from purchase_days
),

long_gaps as (
    select
        customer_id, previous_purchase_date, purchase_date,
        row_number() over (partition by customer_id order by purchase_date desc) as recency_rank
    from gaps
    where previous_purchase_date is not null
        and {{ dbt.datediff('previous_purchase_date', 'purchase_date', 'day') }}
        > {{ var('churn_inactivity_days') }}
),

ticket_summary as (
    select
        tickets.customer_id,
        sum(case when tickets.is_unresolved then 1 else 0 end) as unresolved_ticket_count,
        max(case when tickets.is_complaint then tickets.opened_date end) as last_complaint_date,
        max(case when tickets.is_poor_score then tickets.opened_date end) as last_poor_score_date
    from tickets
    where tickets.customer_id is not null
    group by tickets.customer_id
),

purchase_span as (
    select customer_id, min(purchase_date) as first_purchase_date, max(purchase_date) as last_purchase_date
    from purchase_days
    group by customer_id
),

primary_line as (
    select customer_id, product_line from product_lines where is_primary_line
),

final as (
    select
        customers.customer_id,
        customers.customer_segment,
        as_of.as_of_date,
        purchase_span.first_purchase_date,
        purchase_span.last_purchase_date,
        cast(coalesce(totals.lifetime_revenue, 0) as {{ money_type() }}) as lifetime_revenue_amount,
        primary_line.product_line as primary_product_line,
        coalesce(subscription_summary.subscription_count, 0) as subscription_count,
        coalesce(subscription_summary.active_subscription_count, 0) as active_subscription_count,
        subscription_summary.last_cancelled_date,
        last_cancel.cancel_reason as last_cancel_reason,
        last_cancel.product_line as last_cancelled_product_line,
        purchase_after_cancel.first_purchase_after_cancel_date,
        long_gaps.previous_purchase_date as last_gap_start_date,
        long_gaps.purchase_date as last_gap_end_date,
        coalesce(ticket_summary.unresolved_ticket_count, 0) as unresolved_ticket_count,
        ticket_summary.last_complaint_date,
        ticket_summary.last_poor_score_date
    from customers
    cross join as_of
    left join totals on customers.customer_id = totals.customer_id
    left join purchase_span on customers.customer_id = purchase_span.customer_id
    left join primary_line on customers.customer_id = primary_line.customer_id
    left join subscription_summary on customers.customer_id = subscription_summary.customer_id
    left join last_cancel on customers.customer_id = last_cancel.customer_id
    left join purchase_after_cancel on customers.customer_id = purchase_after_cancel.customer_id
    left join long_gaps
        on customers.customer_id = long_gaps.customer_id and long_gaps.recency_rank = 1
    left join ticket_summary on customers.customer_id = ticket_summary.customer_id
)

select * from final

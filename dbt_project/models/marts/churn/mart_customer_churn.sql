{#- Churn status per customer as of the latest load date, with the rule that decided it (first
    match wins, thresholds are dbt vars, see _churn__models.yml), the churn date and stated reason,
    and the service experience before churn. One row per customer in dim_customers. -#}
{%- set inactivity = var('churn_inactivity_days') -%}
{%- set churn_alive = var('churn_probability_alive_threshold') -%}
{%- set at_risk_alive = var('at_risk_probability_alive_threshold') -%}
{%- set at_risk_days = var('at_risk_inactivity_days') -%}
{%- set signal_days = var('at_risk_signal_days') -%}
{%- set lookback = var('churn_lookback_days') -%}
{%- set one_time = 'one_time_buyer_beyond_p' ~ (var('one_time_buyer_gap_percentile') * 100) | round | int
    ~ '_second_purchase_gap' %}
with signals as (select * from {{ ref('int_analytics__customer_signals') }}),
tickets as (select * from {{ ref('int_analytics__tickets') }}),
purchase_days as (select * from {{ ref('int_analytics__customer_purchase_days') }}),
clv as (select * from {{ ref('int_analytics__customer_clv') }}),
second_purchase_gap as (select * from {{ ref('int_analytics__second_purchase_gap') }}),

measured as (
    select
        signals.*,
        clv.probability_alive,
        second_purchase_gap.second_purchase_gap_days,
        {{ dbt.datediff('signals.last_purchase_date', 'signals.as_of_date', 'day') }} as days_since_last_purchase,
        signals.subscription_count > 0 and signals.active_subscription_count = 0
            as has_cancelled_all_subscriptions
    from signals
    left join clv on signals.customer_id = clv.customer_id
    cross join second_purchase_gap
),

decided as (
    select
        *,
        case
            when has_cancelled_all_subscriptions and first_purchase_after_cancel_date is null
                then 'all_subscriptions_cancelled'
            when probability_alive < {{ churn_alive }}
                then 'probability_alive_below_{{ churn_alive }}'
            -- BG/NBD keeps a one-time buyer alive (P(alive) = 1): their wait for a second
            -- purchase is judged against how long the customers who came back took
            when first_purchase_date = last_purchase_date
                and days_since_last_purchase > second_purchase_gap_days
                then '{{ one_time }}'
            -- a complaint the customer did not buy after is more often a goodbye than not
            -- (docs/customer-analytics.md); one followed by a purchase only puts at risk below
            when last_purchase_date <= last_complaint_date then 'no_purchase_since_complaint'
            when has_cancelled_all_subscriptions
                and {{ dbt.datediff('last_cancelled_date', 'first_purchase_after_cancel_date', 'day') }}
                >= {{ var('won_back_min_gap_days') }}
                then 'purchased_again_after_subscription_cancel'
            when last_gap_end_date is not null
                then 'purchased_again_after_{{ inactivity }}_days_without'
            when unresolved_ticket_count > 0 then 'unresolved_ticket'
            when last_complaint_date > {{ dbt.dateadd('day', -signal_days, 'as_of_date') }}
                then 'complaint_in_last_{{ signal_days }}_days'
            when last_poor_score_date > {{ dbt.dateadd('day', -signal_days, 'as_of_date') }}
                then 'poor_score_in_last_{{ signal_days }}_days'
            when probability_alive < {{ at_risk_alive }}
                then 'probability_alive_below_{{ at_risk_alive }}'
            when days_since_last_purchase > {{ at_risk_days }}
                then 'no_purchase_for_more_than_{{ at_risk_days }}_days'
            when last_purchase_date is null then 'no_purchase_yet'
            else 'purchased_in_last_{{ at_risk_days }}_days'
        end as churn_status_rule
    from measured
),

classified as (
    select
        *,
        case
            when churn_status_rule in ('all_subscriptions_cancelled',
                                       'probability_alive_below_{{ churn_alive }}', '{{ one_time }}',
                                       'no_purchase_since_complaint')
                then 'churned'
            when churn_status_rule like 'purchased_again_after%' then 'won_back'
            when churn_status_rule in ('no_purchase_yet', 'purchased_in_last_{{ at_risk_days }}_days')
                then 'active'
            else 'at_risk'
        end as churn_status,
        churn_status_rule in ('all_subscriptions_cancelled',
                              'purchased_again_after_subscription_cancel') as is_subscription_churn,
        cast(case
            when churn_status_rule in ('all_subscriptions_cancelled',
                                       'purchased_again_after_subscription_cancel')
                then last_cancelled_date
            when churn_status_rule in ('probability_alive_below_{{ churn_alive }}', '{{ one_time }}')
                then {{ dbt.dateadd('day', 1, 'last_purchase_date') }}
            when churn_status_rule = 'no_purchase_since_complaint' then last_complaint_date
            when churn_status_rule = 'purchased_again_after_{{ inactivity }}_days_without'
                then {{ dbt.dateadd('day', 1, 'last_gap_start_date') }}
        end as date) as churned_date,
        case
            when churn_status_rule = 'purchased_again_after_subscription_cancel'
                then first_purchase_after_cancel_date
            when churn_status_rule = 'purchased_again_after_{{ inactivity }}_days_without'
                then last_gap_end_date
        end as won_back_date
    from decided
),

tickets_before_churn as (
    select
        classified.customer_id,
        sum(case when tickets.is_complaint then 1 else 0 end) as complaint_count,
        sum(case when tickets.is_poor_score then 1 else 0 end) as poor_score_count
    from classified
    inner join tickets
        on classified.customer_id = tickets.customer_id
        and tickets.opened_date <= classified.churned_date
        and tickets.opened_date >= {{ dbt.dateadd('day', -lookback, 'classified.churned_date') }}
    group by classified.customer_id
),

revenue_before_churn as (
    select classified.customer_id, sum(purchase_days.revenue_amount) as revenue_amount
    from classified
    inner join purchase_days
        on classified.customer_id = purchase_days.customer_id
        and purchase_days.purchase_date < classified.churned_date
        and purchase_days.purchase_date >= {{ dbt.dateadd('day', -365, 'classified.churned_date') }}
    group by classified.customer_id
),

final as (
    select
        classified.customer_id,
        classified.customer_segment,
        classified.churn_status,
        classified.churn_status_rule,
        classified.as_of_date,
        classified.churned_date,
        classified.won_back_date,
        case when classified.is_subscription_churn then classified.last_cancel_reason end
            as churn_reason,
        case
            when classified.is_subscription_churn then classified.last_cancelled_product_line
            when classified.churned_date is not null then classified.primary_product_line
        end as churned_product_line,
        cast(case when classified.churned_date is not null
            then coalesce(tickets_before_churn.complaint_count, 0) end as {{ dbt.type_bigint() }})
            as complaints_90d_before_churn,
        cast(case when classified.churned_date is not null
            then coalesce(tickets_before_churn.poor_score_count, 0) end as {{ dbt.type_bigint() }})
            as poor_scores_90d_before_churn,
        cast(classified.unresolved_ticket_count as {{ dbt.type_bigint() }}) as unresolved_ticket_count,
        classified.last_purchase_date,
        cast(classified.days_since_last_purchase as {{ dbt.type_bigint() }}) as days_since_last_purchase,
        cast(classified.probability_alive as double) as probability_alive,
        cast(classified.subscription_count as {{ dbt.type_bigint() }}) as subscription_count,
        cast(classified.active_subscription_count as {{ dbt.type_bigint() }})
            as active_subscription_count,
        classified.lifetime_revenue_amount,
        cast(case when classified.churned_date is not null
            then coalesce(revenue_before_churn.revenue_amount, 0) end as {{ money_type() }})
            as revenue_12m_before_churn_amount,
        '{{ var("reporting_currency") }}' as reporting_currency
    from classified
    left join tickets_before_churn on classified.customer_id = tickets_before_churn.customer_id
    left join revenue_before_churn on classified.customer_id = revenue_before_churn.customer_id
)

select * from final

{#- Subscriptions with their customer, start, cancel (date and stated reason) and product line
    (of the plan at the last event). One row per subscription. -#}
with events as (select * from {{ ref('stg_subscriptions__subscription_events') }}),
plans as (select * from {{ ref('stg_subscriptions__plans') }}),
identities as (select * from {{ ref('int_identity__customers') }}),

ordered as (
    select
        events.*,
        row_number() over (
            partition by subscription_id order by occurred_at desc, event_id desc
        ) as recency_rank
    from events
),

per_subscription as (
    select
        subscription_id,
        max(subscriber_id) as subscriber_id,
        min(case when event_type = 'start' then occurred_at end) as started_at,
        max(case when event_type = 'cancel' then occurred_at end) as cancelled_at
    from events
    group by subscription_id
),

last_event as (
    select subscription_id, plan_id, cancel_reason, event_type
    from ordered
    where recency_rank = 1
),

final as (
    select
        per_subscription.subscription_id,
        identities.customer_id,
        per_subscription.subscriber_id,
        plans.product_line,
        per_subscription.started_at,
        cast(per_subscription.started_at as date) as started_date,
        per_subscription.cancelled_at,
        cast(per_subscription.cancelled_at as date) as cancelled_date,
        case when last_event.event_type = 'cancel' then last_event.cancel_reason end
            as cancel_reason,
        per_subscription.cancelled_at is null as is_active
    from per_subscription
    inner join last_event on per_subscription.subscription_id = last_event.subscription_id
    left join plans on last_event.plan_id = plans.plan_id
    left join identities
        on identities.record_key
        = {{ dbt.concat(["'subscriptions:subscribers:'", "per_subscription.subscriber_id"]) }}
)

select * from final

{#- Lifecycle events of subscriptions. One row per event_id: the latest delivered version. -#}
with source as (
    select * from {{ source('subscriptions', 'subscription_events') }}
),

versions as (
    select
        *,
        {{ version_rank(['event_id']) }} as version_rank
    from source
),

final as (
    select
        event_id,
        subscription_id,
        subscriber_id,
        plan_id,
        lower(trim(event_type)) as event_type,
        {{ to_utc('occurred_at') }} as occurred_at,
        lower(trim(cancel_reason)) as cancel_reason,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

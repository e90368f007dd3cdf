{#- What happened to each campaign message. One row per event_id: the latest delivered version. -#}
with source as (
    select * from {{ source('marketing', 'campaign_events') }}
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
        campaign_id,
        {{ normalize_email('email') }} as email,
        lower(trim(event_type)) as event_type,
        {{ to_utc('occurred_at') }} as occurred_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

{#- Subscriber accounts. One row per subscriber_id: the latest delivered version. -#}
with source as (
    select * from {{ source('subscriptions', 'subscribers') }}
),

versions as (
    select
        *,
        {{ version_rank(['subscriber_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        subscriber_id,
        {{ clean_name('full_name') }} as full_name,
        {{ normalize_email('email') }} as email,
        {{ iso_code('country') }} as country,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

{#- Subscriber accounts. One row per subscriber_id: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['subscriber_id'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('subscriptions', 'subscribers')) }}",
) }}
with source as (
    select * from {{ staged_source('subscriptions', 'subscribers', ['subscriber_id']) }}
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

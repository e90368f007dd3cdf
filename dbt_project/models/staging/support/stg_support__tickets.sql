{#- Support tickets. One row per ticket_id: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['ticket_id'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('support', 'tickets')) }}",
) }}
with source as (
    select * from {{ staged_source('support', 'tickets', ['ticket_id']) }}
),

versions as (
    select
        *,
        {{ version_rank(['ticket_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        ticket_id,
        {{ normalize_email('requester_email') }} as requester_email,
        {{ clean_name('requester_name') }} as requester_name,
        {{ normalize_phone('requester_phone') }} as requester_phone,
        lower(trim(category)) as category,
        lower(trim(priority)) as priority,
        lower(trim(status)) as status,
        {{ to_utc('opened_at') }} as opened_at,
        {{ to_utc('resolved_at') }} as resolved_at,
        satisfaction_score,
        {{ clean_text('resolution') }} as resolution,
        {{ clean_text('order_ref') }} as order_ref,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

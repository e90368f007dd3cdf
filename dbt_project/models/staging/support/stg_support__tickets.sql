{#- Support tickets. One row per ticket_id: the latest delivered version. -#}
with source as (
    select * from {{ source('support', 'tickets') }}
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

{#- Marketing consent per contact and channel (opt-ins and opt-outs). One row per contact_id + channel: the latest delivered version. -#}
with source as (
    select * from {{ source('crm', 'contact_preferences') }}
),

versions as (
    select
        *,
        {{ version_rank(['contact_id', 'channel'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        contact_id,
        lower(trim(channel)) as channel,
        is_opted_in,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

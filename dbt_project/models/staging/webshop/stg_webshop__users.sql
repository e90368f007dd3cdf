{#- Registered shop users. One row per user_id: the latest delivered version. -#}
with source as (
    select * from {{ source('webshop', 'users') }}
),

versions as (
    select
        *,
        {{ version_rank(['user_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        user_id,
        {{ normalize_email('email') }} as email,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        {{ normalize_phone('phone', iso_code('country')) }} as phone,
        {{ clean_name('street') }} as street,
        upper({{ clean_text('postcode') }}) as postcode,
        {{ clean_name('city') }} as city,
        {{ iso_code('country') }} as country,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

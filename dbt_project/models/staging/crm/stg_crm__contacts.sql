{#- People at accounts; a person account has exactly one contact. One row per contact_id: the latest delivered version. -#}
with source as (
    select * from {{ source('crm', 'contacts') }}
),

versions as (
    select
        *,
        {{ version_rank(['contact_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        contact_id,
        account_id,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone', iso_code('country')) }} as phone,
        date_of_birth as birth_date,
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

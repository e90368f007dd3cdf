{#- Loyalty cards with the holder's details as written on the sign-up form. One row per card_no: the latest delivered version. -#}
with source as (
    select * from {{ source('pos', 'loyalty_cards') }}
),

versions as (
    select
        *,
        {{ version_rank(['card_no'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        card_no,
        {{ clean_name('holder_name') }} as holder_name,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        upper({{ clean_text('postcode') }}) as postcode,
        date_of_birth as birth_date,
        store_id,
        issued_date,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

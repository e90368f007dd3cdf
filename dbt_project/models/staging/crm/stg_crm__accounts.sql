{#- Customer accounts, private persons and businesses. One row per account_id: the latest delivered version. -#}
with source as (
    select * from {{ source('crm', 'accounts') }}
),

versions as (
    select
        *,
        {{ version_rank(['account_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        account_id,
        lower(trim(account_type)) as account_type,
        {{ clean_name('account_name') }} as account_name,
        {{ normalize_tax_id('tax_id') }} as tax_id,
        {{ clean_text('industry') }} as industry,
        {{ iso_code('country') }} as country,
        spend_potential,
        {{ iso_code('spend_potential_currency') }} as spend_potential_currency,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

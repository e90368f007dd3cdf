{{ config(enabled=live_source_enabled('CDW_CRM_PG_URL')) }}
{#- CRM accounts from the live PostgreSQL CRM. One row per account_id that exists now: the latest extracted version, soft-deleted accounts left out. -#}
with source as (
    select * from {{ source('crm_live', 'accounts') }}
),

versions as (
    select
        *,
        {{ live_version_rank(['account_id'], 'updated_at') }} as version_rank
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
    where version_rank = 1 and deleted_at is null
)

select * from final

{{ config(enabled=live_source_enabled('CDW_CRM_PG_URL')) }}
{#- Slowly changing history of CRM account attributes, built from every extracted version in raw
    (not a dbt snapshot: one can keep two current rows for a key). One row per account_id and
    valid_from. A version is valid until the next one; the version recording a soft delete closes
    the history and is not itself a row. The same version extracted twice (overlap) counts once. -#}
with source as (
    select * from {{ source('crm_live', 'accounts') }}
),

distinct_versions as (
    select
        *,
        row_number() over (
            partition by account_id, updated_at
            order by _loaded_at desc, _source_file desc, _source_row desc
        ) as copy_rank
    from source
),

mapped as (
    select
        {{ crm_account_columns() }},
        deleted_at
    from distinct_versions
    where copy_rank = 1
),

versions as (
    select
        *,
        updated_at as valid_from,
        lead(updated_at) over (partition by account_id order by updated_at) as valid_to
    from mapped
),

final as (
    select
        account_id,
        account_type,
        account_name,
        tax_id,
        industry,
        country,
        spend_potential,
        spend_potential_currency,
        valid_from,
        valid_to,
        valid_to is null as is_current
    from versions
    where deleted_at is null
)

select * from final

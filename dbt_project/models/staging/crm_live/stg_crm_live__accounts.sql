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
        {{ crm_account_columns() }},
        {{ lineage_columns() }}
    from versions
    where version_rank = 1 and deleted_at is null
)

select * from final

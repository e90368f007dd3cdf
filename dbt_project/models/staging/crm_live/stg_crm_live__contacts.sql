{{ config(enabled=live_source_enabled('CDW_CRM_PG_URL')) }}
{#- CRM contacts from the live PostgreSQL CRM. One row per contact_id that exists now: the latest extracted version; contacts whose latest version is a key-diff deletion are left out. -#}
with source as (
    select * from {{ source('crm_live', 'contacts') }}
),

versions as (
    select
        *,
        {{ live_version_rank(['contact_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        {{ crm_contact_columns() }},
        {{ lineage_columns() }}
    from versions
    where version_rank = 1 and not is_deleted
)

select * from final

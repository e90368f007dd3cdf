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
        contact_id,
        account_id,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        lower(trim(email)) as email,
        phone,
        {{ clean_text('city') }} as city,
        {{ iso_code('country') }} as country,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1 and not is_deleted
)

select * from final

{{ config(enabled=live_source_enabled('CDW_ERP_MYSQL_URL')) }}
{#- ERP customers from the live MariaDB ERP. One row per customer_no that exists now: the latest extracted version; customers whose latest version is a key-diff deletion are left out. -#}
with source as (
    select * from {{ source('erp_live', 'customers') }}
),

versions as (
    select
        *,
        {{ live_version_rank(['customer_no'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        {{ erp_customer_columns() }},
        {{ lineage_columns() }}
    from versions
    where version_rank = 1 and not is_deleted
)

select * from final

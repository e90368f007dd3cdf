{{ config(enabled=live_source_enabled('CDW_ERP_MYSQL_URL')) }}
{#- ERP invoice headers from the live MariaDB ERP. One row per invoice_no: the latest extracted version. -#}
with source as (
    select * from {{ source('erp_live', 'invoices') }}
),

versions as (
    select
        *,
        {{ live_version_rank(['invoice_no'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        {{ erp_invoice_columns() }},
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

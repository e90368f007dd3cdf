{{ config(enabled=not uses_live_form('erp', 'customers')) }}
{#- Billing customers (bill-to parties). One row per customer_no: the latest delivered version. -#}
with source as (
    select * from {{ source('erp', 'customers') }}
),

versions as (
    select
        *,
        {{ version_rank(['customer_no'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        {{ erp_customer_columns() }},
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

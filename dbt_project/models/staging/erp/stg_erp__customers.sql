{#- Billing customers (bill-to parties). One row per customer_no: the latest delivered version. -#}
{{ config(
    enabled=not uses_live_form('erp', 'customers'),
    materialized=incremental_materialization(),
    unique_key=['customer_no'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('erp', 'customers')) }}",
) }}
with source as (
    select * from {{ staged_source('erp', 'customers', ['customer_no']) }}
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

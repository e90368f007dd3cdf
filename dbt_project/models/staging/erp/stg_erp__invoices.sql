{{ config(enabled=not uses_live_form('erp', 'invoices')) }}
{#- Invoice headers. Webshop orders are invoiced here too, carrying the webshop order id. One row per invoice_no: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['invoice_no'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('erp', 'invoices')) }}",
) }}
with source as (
    select * from {{ staged_source('erp', 'invoices', ['invoice_no']) }}
),

versions as (
    select
        *,
        {{ version_rank(['invoice_no'], 'updated_at') }} as version_rank
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

{#- Invoice lines, one product each. One row per invoice_no + line_no: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['invoice_no', 'line_no'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('erp', 'invoice_lines')) }}",
) }}
with source as (
    select * from {{ staged_source('erp', 'invoice_lines', ['invoice_no', 'line_no']) }}
),

versions as (
    select
        *,
        {{ version_rank(['invoice_no', 'line_no']) }} as version_rank
    from source
),

final as (
    select
        invoice_no,
        line_no,
        sku,
        quantity,
        unit_price,
        line_amount,
        {{ iso_code('currency') }} as currency,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

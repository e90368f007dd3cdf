{#- Credit notes (refunds) against invoices; amounts are positive here and reduce revenue. One row per credit_note_no: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['credit_note_no'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('erp', 'credit_notes')) }}",
) }}
with source as (
    select * from {{ staged_source('erp', 'credit_notes', ['credit_note_no']) }}
),

versions as (
    select
        *,
        {{ version_rank(['credit_note_no']) }} as version_rank
    from source
),

final as (
    select
        credit_note_no,
        invoice_no,
        customer_no,
        credit_date,
        {{ iso_code('currency') }} as currency,
        amount,
        sku,
        lower(trim(reason)) as reason,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

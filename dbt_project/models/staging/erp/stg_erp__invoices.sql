{#- Invoice headers. Webshop orders are invoiced here too, carrying the webshop order id. One row per invoice_no: the latest delivered version. -#}
with source as (
    select * from {{ source('erp', 'invoices') }}
),

versions as (
    select
        *,
        {{ version_rank(['invoice_no'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        invoice_no,
        customer_no,
        invoice_date,
        {{ iso_code('currency') }} as currency,
        total_amount,
        webshop_order_id,
        lower(trim(status)) as status,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

{#- Lines of webshop orders, unnested from each order's `lines` list. One row per order_id + line_no: the latest delivered version. -#}
with source as (
    select * from {{ source('webshop', 'order_lines') }}
),

versions as (
    select
        *,
        {{ version_rank(['order_id', 'line_no']) }} as version_rank
    from source
),

final as (
    select
        order_id,
        line_no,
        sku,
        quantity,
        unit_price,
        {{ iso_code('currency') }} as currency,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

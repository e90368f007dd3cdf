{#- Till receipts, one row per line; anonymous baskets have no card. One row per basket_id + line_no: the latest delivered version. -#}
with source as (
    select * from {{ source('pos', 'basket_lines') }}
),

versions as (
    select
        *,
        {{ version_rank(['basket_id', 'line_no']) }} as version_rank
    from source
),

final as (
    select
        basket_id,
        line_no,
        store_id,
        card_no,
        {{ to_utc('purchased_at') }} as purchased_at,
        store_timezone,
        sku,
        quantity,
        unit_price,
        {{ iso_code('currency') }} as currency,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

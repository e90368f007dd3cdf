{#- Till receipts, one row per line; anonymous baskets have no card. One row per basket_id + line_no: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['basket_id', 'line_no'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('pos', 'basket_lines')) }}",
) }}
with source as (
    select * from {{ staged_source('pos', 'basket_lines', ['basket_id', 'line_no']) }}
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

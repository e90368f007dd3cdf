{#- Lines of webshop orders, unnested from each order's `lines` list. One row per order_id + line_no: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['order_id', 'line_no'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('webshop', 'order_lines')) }}",
) }}
with source as (
    select * from {{ staged_source('webshop', 'order_lines', ['order_id', 'line_no']) }}
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

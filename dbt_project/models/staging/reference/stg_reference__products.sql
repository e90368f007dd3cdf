{#- Product catalogue with unit cost. One row per sku: the latest delivered version. -#}
with source as (
    select * from {{ source('reference', 'products') }}
),

versions as (
    select
        *,
        {{ version_rank(['sku']) }} as version_rank
    from source
),

final as (
    select
        sku,
        {{ clean_text('product_name') }} as product_name,
        {{ clean_text('product_line') }} as product_line,
        unit_cost,
        {{ iso_code('cost_currency') }} as cost_currency,
        list_price,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

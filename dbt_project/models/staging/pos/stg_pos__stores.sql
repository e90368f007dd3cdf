{#- Physical stores. One row per store_id: the latest delivered version. -#}
with source as (
    select * from {{ source('pos', 'stores') }}
),

versions as (
    select
        *,
        {{ version_rank(['store_id']) }} as version_rank
    from source
),

final as (
    select
        store_id,
        {{ clean_text('store_name') }} as store_name,
        {{ clean_name('city') }} as city,
        {{ iso_code('country') }} as country,
        {{ iso_code('currency') }} as currency,
        timezone,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

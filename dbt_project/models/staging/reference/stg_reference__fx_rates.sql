{#- Daily reference rates, units of a currency per one euro (EUR itself is 1). One row per rate_date + currency: the latest delivered version. -#}
with source as (
    select * from {{ source('reference', 'fx_rates') }}
),

versions as (
    select
        *,
        {{ version_rank(['rate_date', 'currency']) }} as version_rank
    from source
),

final as (
    select
        rate_date,
        {{ iso_code('currency') }} as currency,
        units_per_eur,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

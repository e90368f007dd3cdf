{#- Marketing campaigns. One row per campaign_id: the latest delivered version. -#}
with source as (
    select * from {{ source('marketing', 'campaigns') }}
),

versions as (
    select
        *,
        {{ version_rank(['campaign_id']) }} as version_rank
    from source
),

final as (
    select
        campaign_id,
        {{ clean_text('campaign_name') }} as campaign_name,
        lower(trim(channel)) as channel,
        {{ clean_text('product_line') }} as product_line,
        start_date,
        end_date,
        cost,
        {{ iso_code('currency') }} as currency,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

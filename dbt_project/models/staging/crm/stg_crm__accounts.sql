{{ config(enabled=not uses_live_form('crm', 'accounts')) }}
{#- Customer accounts, private persons and businesses. One row per account_id: the latest delivered version. -#}
with source as (
    select * from {{ source('crm', 'accounts') }}
),

versions as (
    select
        *,
        {{ version_rank(['account_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        {{ crm_account_columns() }},
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

{#- Customer accounts, private persons and businesses. One row per account_id: the latest delivered version. -#}
{{ config(
    enabled=not uses_live_form('crm', 'accounts'),
    materialized=incremental_materialization(),
    unique_key=['account_id'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('crm', 'accounts')) }}",
) }}
with source as (
    select * from {{ staged_source('crm', 'accounts', ['account_id']) }}
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

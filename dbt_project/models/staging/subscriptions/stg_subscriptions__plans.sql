{#- Subscription plans and their monthly price. One row per plan_id: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['plan_id'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('subscriptions', 'plans')) }}",
) }}
with source as (
    select * from {{ staged_source('subscriptions', 'plans', ['plan_id']) }}
),

versions as (
    select
        *,
        {{ version_rank(['plan_id']) }} as version_rank
    from source
),

final as (
    select
        plan_id,
        {{ clean_text('plan_name') }} as plan_name,
        {{ clean_text('product_line') }} as product_line,
        tier_rank,
        monthly_price,
        {{ iso_code('currency') }} as currency,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

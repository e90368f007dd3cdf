{#- Monthly charges of active subscriptions. One row per charge_id: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['charge_id'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('subscriptions', 'charges')) }}",
) }}
with source as (
    select * from {{ staged_source('subscriptions', 'charges', ['charge_id']) }}
),

versions as (
    select
        *,
        {{ version_rank(['charge_id']) }} as version_rank
    from source
),

final as (
    select
        charge_id,
        subscription_id,
        subscriber_id,
        plan_id,
        charge_date,
        amount,
        {{ iso_code('currency') }} as currency,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

{#- Monthly charges of active subscriptions. One row per charge_id: the latest delivered version. -#}
with source as (
    select * from {{ source('subscriptions', 'charges') }}
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

{#- Movements between lifecycle stages: customers per month, stage of the month before and stage
    of the month (new customers come from 'new'). One row per activity_month, from_stage and
    to_stage with at least one customer. -#}
with lifecycle as (select * from {{ ref('mart_customer_lifecycle') }}),

final as (
    select
        activity_month,
        coalesce(previous_stage, 'new') as from_stage,
        lifecycle_stage as to_stage,
        cast(count(*) as {{ dbt.type_bigint() }}) as customers
    from lifecycle
    group by activity_month, coalesce(previous_stage, 'new'), lifecycle_stage
)

select * from final

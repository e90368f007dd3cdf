{{ config(meta={'dagster': {'ref': {'name': 'bridge_customer_source'}}}, severity='error') }}
{#- Every customer-like source record belongs to exactly one customer: no record of
    int_identity__source_records is missing from bridge_customer_source or in it twice (the
    bridge's unique_combination and not_null customer_id tests cover the "at most one"). -#}
with source_records as (
    select system, entity, source_id from {{ ref('int_identity__source_records') }}
),
bridge as (
    select system, entity, source_id, count(*) as customer_count
    from {{ ref('bridge_customer_source') }}
    group by system, entity, source_id
),

final as (
    select source_records.system, source_records.entity, source_records.source_id,
        coalesce(bridge.customer_count, 0) as customer_count
    from source_records
    left join bridge
        on source_records.system = bridge.system
        and source_records.entity = bridge.entity
        and source_records.source_id = bridge.source_id
    where coalesce(bridge.customer_count, 0) <> 1
)

select * from final

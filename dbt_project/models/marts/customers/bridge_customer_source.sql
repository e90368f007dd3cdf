{#- One row per customer-like source record: which customer it resolved to, and how. -#}
with identities as (select * from {{ ref('int_identity__customers') }}),

final as (
    select
        record_key,
        system,
        entity,
        source_id,
        customer_id,
        matched_on,
        record_key = customer_anchor_key as is_anchor_record
    from identities
)

select * from final

{#- Accepted revenue lines (no rejection_reason) with the customer_id their customer source
    record resolved to (null for anonymous POS baskets and for lines whose customer record is
    unknown). One row per accepted revenue line. -#}
with lines as (select * from {{ ref('int_revenue__lines_converted') }}),
identities as (select * from {{ ref('int_identity__customers') }}),

final as (
    select
        identities.customer_id,
        lines.*
    from lines
    left join identities on lines.customer_record_key = identities.record_key
    where lines.rejection_reason is null
)

select * from final

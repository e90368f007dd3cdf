{#- Support tickets (latest version) with their customer and the experience they stand for:
    complaint, poor satisfaction score (at most var poor_satisfaction_max_score), unresolved,
    failed delivery (a delivery ticket). One row per ticket. -#}
with tickets as (select * from {{ ref('stg_support__tickets') }}),
identities as (select * from {{ ref('int_identity__customers') }}),

final as (
    select
        tickets.ticket_id,
        identities.customer_id,
        tickets.category,
        tickets.priority,
        tickets.status,
        tickets.opened_at,
        cast(tickets.opened_at as date) as opened_date,
        tickets.resolved_at,
        tickets.satisfaction_score,
        tickets.resolution,
        tickets.category = 'complaint' as is_complaint,
        coalesce(tickets.satisfaction_score <= {{ var('poor_satisfaction_max_score') }}, false)
            as is_poor_score,
        tickets.status in ('open', 'pending') as is_unresolved,
        tickets.category = 'delivery' as is_delivery_issue
    from tickets
    left join identities
        on identities.record_key = {{ dbt.concat(["'support:tickets:'", "tickets.ticket_id"]) }}
)

select * from final

{#- When each customer stopped accepting marketing email: the earliest of a withdrawn CRM email
    consent (latest preference per contact is opted out; when it was recorded) and an unsubscribe
    event from any of the customer's email addresses. One row per customer who opted out. -#}
with preferences as (select * from {{ ref('stg_crm__contact_preferences') }}),
campaign_events as (select * from {{ ref('stg_marketing__campaign_events') }}),
identities as (select * from {{ ref('int_identity__customers') }}),
email_customers as (select * from {{ ref('int_analytics__email_customers') }}),

crm_opt_outs as (
    select identities.customer_id, min(preferences.updated_at) as opted_out_at
    from preferences
    inner join identities
        on identities.record_key = {{ dbt.concat(["'crm:contacts:'", "preferences.contact_id"]) }}
    where preferences.channel = 'email' and not preferences.is_opted_in
    group by identities.customer_id
),

unsubscribes as (
    select email_customers.customer_id, min(campaign_events.occurred_at) as opted_out_at
    from campaign_events
    inner join email_customers
        on {{ email_match_key('campaign_events.email') }} = email_customers.email_key
    where campaign_events.event_type = 'unsubscribe'
    group by email_customers.customer_id
),

unioned as (
    select customer_id, opted_out_at from crm_opt_outs
    union all
    select customer_id, opted_out_at from unsubscribes
),

final as (
    select customer_id, min(opted_out_at) as opted_out_at
    from unioned
    group by customer_id
)

select * from final

{#- Campaign sends per customer, and whether the customer had opted out of email before the
    send (such a customer is not in the audience: opt-outs are honoured downstream). One row
    per campaign and customer sent to. -#}
with campaign_events as (select * from {{ ref('stg_marketing__campaign_events') }}),
email_customers as (select * from {{ ref('int_analytics__email_customers') }}),
opt_outs as (select * from {{ ref('int_analytics__email_opt_outs') }}),

events as (
    select
        campaign_events.campaign_id,
        email_customers.customer_id,
        campaign_events.event_type,
        campaign_events.occurred_at
    from campaign_events
    inner join email_customers
        on {{ email_match_key('campaign_events.email') }} = email_customers.email_key
),

per_customer as (
    select
        campaign_id,
        customer_id,
        min(case when event_type = 'send' then occurred_at end) as sent_at,
        max(case when event_type = 'open' then 1 else 0 end) = 1 as has_opened,
        max(case when event_type = 'click' then 1 else 0 end) = 1 as has_clicked,
        max(case when event_type = 'unsubscribe' then 1 else 0 end) = 1 as has_unsubscribed
    from events
    group by campaign_id, customer_id
),

final as (
    select
        per_customer.campaign_id,
        per_customer.customer_id,
        per_customer.sent_at,
        cast(per_customer.sent_at as date) as sent_date,
        per_customer.has_opened,
        per_customer.has_clicked,
        per_customer.has_unsubscribed,
        coalesce(opt_outs.opted_out_at < per_customer.sent_at, false) as was_opted_out_at_send
    from per_customer
    left join opt_outs on per_customer.customer_id = opt_outs.customer_id
    where per_customer.sent_at is not null
)

select * from final

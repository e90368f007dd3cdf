{#- The audience of each campaign: customers sent the campaign who had not opted out of email
    before the send (opted-out contacts never appear here), what they did, and the purchases
    attributed to the campaign (last touch: a purchase day within var campaign_attribution_days
    after the send goes to the latest send before it). One row per campaign and audience customer. -#}
with audience as (select * from {{ ref('int_analytics__campaign_audience') }}),
purchase_days as (select * from {{ ref('int_analytics__customer_purchase_days') }}),

eligible as (
    select * from audience where not was_opted_out_at_send
),

touches as (
    select
        eligible.campaign_id,
        eligible.customer_id,
        purchase_days.purchase_date,
        purchase_days.revenue_amount,
        row_number() over (
            partition by eligible.customer_id, purchase_days.purchase_date
            order by eligible.sent_at desc, eligible.campaign_id desc
        ) as touch_rank
    from eligible
    inner join purchase_days
        on eligible.customer_id = purchase_days.customer_id
        and purchase_days.purchase_date > eligible.sent_date
        and purchase_days.purchase_date
        <= {{ dbt.dateadd('day', var('campaign_attribution_days'), 'eligible.sent_date') }}
),

attributed as (
    select campaign_id, customer_id, count(*) as purchase_days, sum(revenue_amount) as revenue_amount
    from touches
    where touch_rank = 1
    group by campaign_id, customer_id
),

final as (
    select
        eligible.campaign_id,
        eligible.customer_id,
        eligible.sent_at,
        eligible.has_opened,
        eligible.has_clicked,
        eligible.has_unsubscribed,
        cast(coalesce(attributed.purchase_days, 0) as {{ dbt.type_bigint() }})
            as attributed_purchase_days,
        cast(coalesce(attributed.revenue_amount, 0) as {{ money_type() }}) as attributed_revenue_amount,
        '{{ var("reporting_currency") }}' as reporting_currency
    from eligible
    left join attributed
        on eligible.campaign_id = attributed.campaign_id
        and eligible.customer_id = attributed.customer_id
)

select * from final

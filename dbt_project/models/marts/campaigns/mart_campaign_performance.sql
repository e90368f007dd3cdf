{#- Per campaign: audience (opt-outs honoured), sends, opens, clicks, unsubscribes, sends
    suppressed because the contact had opted out, attributed customers and revenue within var
    campaign_attribution_days after the send (last touch), cost in the reporting currency and
    return on investment. One row per campaign. -#}
with campaigns as (select * from {{ ref('stg_marketing__campaigns') }}),
rates as (select * from {{ ref('int_fx__rates') }}),
sends as (select * from {{ ref('int_analytics__campaign_audience') }}),
audience as (select * from {{ ref('mart_campaign_audience') }}),

audience_summary as (
    select
        campaign_id,
        count(*) as audience_customers,
        sum(case when has_opened then 1 else 0 end) as opened_customers,
        sum(case when has_clicked then 1 else 0 end) as clicked_customers,
        sum(case when has_unsubscribed then 1 else 0 end) as unsubscribed_customers,
        sum(case when attributed_purchase_days > 0 then 1 else 0 end) as attributed_customers,
        sum(attributed_revenue_amount) as attributed_revenue_amount
    from audience
    group by campaign_id
),

suppressed as (
    select campaign_id, count(*) as opted_out_customers
    from sends
    where was_opted_out_at_send
    group by campaign_id
),

costed as (
    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.product_line,
        campaigns.start_date,
        campaigns.end_date,
        {{ convert_money('campaigns.cost', 'cost_rate') }} as cost_amount
    from campaigns
    left join rates as cost_rate
        on campaigns.currency = cost_rate.currency and campaigns.start_date = cost_rate.rate_date
),

final as (
    select
        costed.campaign_id,
        costed.campaign_name,
        costed.channel,
        costed.product_line,
        costed.start_date,
        costed.end_date,
        cast(coalesce(audience_summary.audience_customers, 0) as {{ dbt.type_bigint() }})
            as audience_customers,
        cast(coalesce(audience_summary.opened_customers, 0) as {{ dbt.type_bigint() }})
            as opened_customers,
        cast(coalesce(audience_summary.clicked_customers, 0) as {{ dbt.type_bigint() }})
            as clicked_customers,
        cast(coalesce(audience_summary.unsubscribed_customers, 0) as {{ dbt.type_bigint() }})
            as unsubscribed_customers,
        cast(coalesce(suppressed.opted_out_customers, 0) as {{ dbt.type_bigint() }})
            as sent_to_opted_out_customers,
        cast(coalesce(audience_summary.attributed_customers, 0) as {{ dbt.type_bigint() }})
            as attributed_customers,
        cast(coalesce(audience_summary.attributed_revenue_amount, 0) as {{ money_type() }})
            as attributed_revenue_amount,
        costed.cost_amount,
        case when costed.cost_amount > 0 then cast(round(
            (coalesce(audience_summary.attributed_revenue_amount, 0) - costed.cost_amount)
            / costed.cost_amount, 6) as double) end as return_on_investment,
        {{ var('campaign_attribution_days') }} as attribution_window_days,
        '{{ var("reporting_currency") }}' as reporting_currency
    from costed
    left join audience_summary on costed.campaign_id = audience_summary.campaign_id
    left join suppressed on costed.campaign_id = suppressed.campaign_id
)

select * from final

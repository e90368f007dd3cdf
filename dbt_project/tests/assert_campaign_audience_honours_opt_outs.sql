{{ config(meta={'dagster': {'ref': {'name': 'mart_campaign_audience'}}}, severity='error') }}
{#- Opt-outs are honoured: no customer is in a campaign audience after opting out of email
    (a withdrawn CRM consent or an unsubscribe, whichever came first). -#}
with audience as (select * from {{ ref('mart_campaign_audience') }}),
opt_outs as (select * from {{ ref('int_analytics__email_opt_outs') }}),

breaches as (
    select audience.campaign_id, audience.customer_id, audience.sent_at, opt_outs.opted_out_at
    from audience
    inner join opt_outs
        on audience.customer_id = opt_outs.customer_id
        and opt_outs.opted_out_at < audience.sent_at
)

select * from breaches

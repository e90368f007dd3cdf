{{ config(meta={'dagster': {'ref': {'name': 'mart_customer_retention'}}}, severity='error') }}
{#- Mart-level sanity of cohort retention: no negative customer counts, no more active customers
    than the cohort holds, logo retention within 0..1, and gross revenue retention never above 1
    (it is capped per customer at the acquisition-month revenue; it can fall below 0 when credits
    exceed sales in a month, so only the upper bound holds). net_revenue_retention is not bounded:
    expansion takes it above 1. -#}
with retention as (select * from {{ ref('mart_customer_retention') }}),

final as (
    select *
    from retention
    where cohort_size is null
        or cohort_size <= 0
        or customers_active is null
        or customers_active < 0
        or customers_active > cohort_size
        or logo_retention is null
        or logo_retention < 0
        or logo_retention > 1
        or revenue_retention > 1
)

select * from final

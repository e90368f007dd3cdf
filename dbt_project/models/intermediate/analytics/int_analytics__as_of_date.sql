{#- The date every customer-analytics rule is evaluated at: the latest load date in the data
    (not the wall clock), so a replayed or backfilled world gives the same statuses. One row. -#}
with invoices as (select _load_date from {{ staging_ref('erp', 'invoices') }}),
orders as (select _load_date from {{ ref('stg_webshop__orders') }}),
baskets as (select _load_date from {{ ref('stg_pos__basket_lines') }}),
charges as (select _load_date from {{ ref('stg_subscriptions__charges') }}),
subscription_events as (select _load_date from {{ ref('stg_subscriptions__subscription_events') }}),
tickets as (select _load_date from {{ ref('stg_support__tickets') }}),

load_dates as (
    select max(_load_date) as load_date from invoices
    union all select max(_load_date) from orders
    union all select max(_load_date) from baskets
    union all select max(_load_date) from charges
    union all select max(_load_date) from subscription_events
    union all select max(_load_date) from tickets
),

final as (
    select cast(max(load_date) as date) as as_of_date from load_dates
)

select * from final

{{ config(meta={'dagster': {'ref': {'name': 'mart_churn_by_reason'}}}, severity='error') }}
{#- The churn marts agree: one churn row per customer of dim_customers, and the churn-by-reason
    summary counts exactly the churned customers and their lost revenue. -#}
with churn as (select * from {{ ref('mart_customer_churn') }}),
by_reason as (select * from {{ ref('mart_churn_by_reason') }}),
customers as (select * from {{ ref('dim_customers') }}),

counts as (
    select
        (select count(*) from customers) as customer_count,
        (select count(*) from churn) as churn_row_count,
        (select count(*) from churn where churn_status = 'churned') as churned_count,
        (select coalesce(sum(churned_customers), 0) from by_reason) as summarised_count,
        (select coalesce(sum(revenue_12m_before_churn_amount), 0) from churn
         where churn_status = 'churned') as lost_revenue,
        (select coalesce(sum(lost_annual_revenue_amount), 0) from by_reason) as summarised_lost_revenue
),

final as (
    select * from counts
    where customer_count <> churn_row_count
        or churned_count <> summarised_count
        or lost_revenue <> summarised_lost_revenue
)

select * from final

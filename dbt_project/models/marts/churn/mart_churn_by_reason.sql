{#- Root causes of defection: customers churned as of the latest load date and the revenue they
    took with them, by stated reason, segment and product line. One row per churn reason
    ('not stated' when the churn was not a subscription cancel), customer segment and churned
    product line ('none' when the customer bought no product line). -#}
with churn as (select * from {{ ref('mart_customer_churn') }}),

churned as (
    select
        coalesce(churn_reason, 'not stated') as churn_reason,
        customer_segment,
        coalesce(churned_product_line, 'none') as product_line,
        complaints_90d_before_churn,
        poor_scores_90d_before_churn,
        revenue_12m_before_churn_amount,
        lifetime_revenue_amount,
        reporting_currency,
        as_of_date
    from churn
    where churn_status = 'churned'
),

grouped as (
    select
        churn_reason, customer_segment, product_line,
        count(*) as churned_customers,
        sum(case when complaints_90d_before_churn > 0 then 1 else 0 end)
            as customers_with_complaint_before_churn,
        sum(case when poor_scores_90d_before_churn > 0 then 1 else 0 end)
            as customers_with_poor_score_before_churn,
        sum(revenue_12m_before_churn_amount) as lost_annual_revenue_amount,
        sum(lifetime_revenue_amount) as lifetime_revenue_amount,
        max(reporting_currency) as reporting_currency,
        max(as_of_date) as as_of_date
    from churned
    group by churn_reason, customer_segment, product_line
),

final as (
    select
        churn_reason, customer_segment, product_line,
        cast(churned_customers as {{ dbt.type_bigint() }}) as churned_customers,
        cast(round(churned_customers * 1.0 / sum(churned_customers) over (), 6) as double)
            as share_of_churned_customers,
        cast(customers_with_complaint_before_churn as {{ dbt.type_bigint() }})
            as customers_with_complaint_before_churn,
        cast(customers_with_poor_score_before_churn as {{ dbt.type_bigint() }})
            as customers_with_poor_score_before_churn,
        cast(lost_annual_revenue_amount as {{ money_type() }}) as lost_annual_revenue_amount,
        cast(lifetime_revenue_amount as {{ money_type() }}) as lifetime_revenue_amount,
        reporting_currency,
        as_of_date
    from grouped
)

select * from final

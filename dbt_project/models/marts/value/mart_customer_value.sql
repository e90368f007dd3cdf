{#- Recency, frequency, monetary value and tenure per customer in the conventions of the BG/NBD
    literature (int_analytics__customer_btyd), RFM quintile scores and segments, and what the
    fitted BG/NBD and Gamma-Gamma models expect of the customer (int_analytics__customer_clv):
    P(alive), purchases in the next 12 months, purchase value and lifetime value (see the YAML).
    Evaluated as of the latest load date. One row per customer with at least one purchase. -#}
with btyd as (select * from {{ ref('int_analytics__customer_btyd') }}),
clv as (select * from {{ ref('int_analytics__customer_clv') }}),
customers as (select * from {{ ref('dim_customers') }}),
totals as (select * from {{ ref('int_revenue__customer_totals') }}),

scored as (
    select
        btyd.*,
        coalesce(totals.lifetime_revenue, 0) as lifetime_revenue_amount,
        coalesce(totals.t12m_revenue, 0) as t12m_revenue_amount,
        ntile(5) over (order by btyd.days_since_last_purchase desc, btyd.customer_id) as recency_score,
        ntile(5) over (order by btyd.frequency, btyd.customer_id) as frequency_score,
        ntile(5) over (order by coalesce(totals.lifetime_revenue, 0), btyd.customer_id)
            as monetary_score
    from btyd
    left join totals on btyd.customer_id = totals.customer_id
),

segmented as (
    select
        *,
        case
            when recency_score >= 4 and frequency_score >= 4 then 'champions'
            when recency_score >= 3 and frequency_score >= 4 then 'loyal'
            when recency_score >= 4 and frequency_score = 1 then 'new'
            when recency_score >= 4 then 'potential_loyalists'
            when recency_score = 3 then 'needs_attention'
            when recency_score <= 2 and frequency_score >= 4 then 'cannot_lose'
            when recency_score <= 2 and frequency_score = 3 then 'at_risk'
            else 'hibernating'
        end as rfm_segment
    from scored
),

final as (
    select
        segmented.customer_id,
        customers.customer_segment,
        segmented.as_of_date,
        segmented.first_purchase_date,
        segmented.last_purchase_date,
        cast(segmented.frequency as {{ dbt.type_bigint() }}) as frequency,
        cast(segmented.recency_days as {{ dbt.type_bigint() }}) as recency_days,
        cast(segmented.age_days as {{ dbt.type_bigint() }}) as age_days,
        cast(segmented.days_since_last_purchase as {{ dbt.type_bigint() }}) as days_since_last_purchase,
        cast(round(segmented.average_repeat_purchase_amount, 2) as {{ money_type() }})
            as average_repeat_purchase_amount,
        cast(segmented.lifetime_revenue_amount as {{ money_type() }}) as lifetime_revenue_amount,
        cast(segmented.t12m_revenue_amount as {{ money_type() }}) as t12m_revenue_amount,
        cast(segmented.recency_score as {{ dbt.type_int() }}) as recency_score,
        cast(segmented.frequency_score as {{ dbt.type_int() }}) as frequency_score,
        cast(segmented.monetary_score as {{ dbt.type_int() }}) as monetary_score,
        {{ dbt.concat([
            dbt.safe_cast('segmented.recency_score', dbt.type_string()),
            dbt.safe_cast('segmented.frequency_score', dbt.type_string()),
            dbt.safe_cast('segmented.monetary_score', dbt.type_string())]) }} as rfm_cell,
        segmented.rfm_segment,
        cast(clv.probability_alive as double) as probability_alive,
        cast(clv.expected_purchases_12m as double) as expected_purchases_12m,
        cast(round(clv.expected_purchase_amount, 2) as {{ money_type() }}) as expected_purchase_amount,
        cast(round(clv.clv_amount, 2) as {{ money_type() }}) as clv_amount,
        cast(round(avg(clv.clv_amount) over (partition by segmented.rfm_segment), 2)
            as {{ money_type() }}) as segment_average_clv_amount,
        '{{ var("reporting_currency") }}' as reporting_currency
    from segmented
    inner join clv on segmented.customer_id = clv.customer_id
    inner join customers on segmented.customer_id = customers.customer_id
)

select * from final

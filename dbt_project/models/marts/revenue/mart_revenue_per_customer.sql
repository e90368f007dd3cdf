{#- Revenue per customer, in the reporting currency; one row per customer (customers without
    revenue have zeros). T12M = the 12 months ending on the latest revenue date in the data. -#}
with customers as (select * from {{ ref('dim_customers') }}),
totals as (select * from {{ ref('int_revenue__customer_totals') }}),

joined as (
    select
        customers.customer_id,
        customers.customer_name,
        customers.customer_segment,
        cast(coalesce(totals.lifetime_revenue, 0) as {{ money_type() }}) as lifetime_revenue,
        cast(coalesce(totals.lifetime_margin, 0) as {{ money_type() }}) as lifetime_margin,
        cast(coalesce(totals.t12m_revenue, 0) as {{ money_type() }}) as t12m_revenue,
        cast(coalesce(totals.t12m_margin, 0) as {{ money_type() }}) as t12m_margin,
        coalesce(totals.order_count, 0) as order_count,
        totals.first_purchase_date,
        totals.last_purchase_date,
        totals.product_lines,
        totals.channels,
        coalesce(totals.is_core_customer, false) as is_core_customer
    from customers
    left join totals on customers.customer_id = totals.customer_id
),

final as (
    select
        customer_id, customer_name, customer_segment,
        lifetime_revenue, lifetime_margin,
        case when lifetime_revenue > 0
            then cast(round(lifetime_margin / lifetime_revenue, 4) as double)
        end as lifetime_margin_rate,
        t12m_revenue, t12m_margin,
        (select max(t12m_start_date) from totals) as t12m_start_date,
        (select max(t12m_end_date) from totals) as t12m_end_date,
        order_count,
        case when order_count > 0
            then {{ divide_money('lifetime_revenue', 'order_count') }}
        end as average_order_value,
        first_purchase_date, last_purchase_date, product_lines, channels,
        case
            when lifetime_revenue <= 0 then 'no revenue'
            when lifetime_margin < 0 then 'loss-making'
            when lifetime_margin >= 0.5 * lifetime_revenue then 'high margin'
            when lifetime_margin >= 0.25 * lifetime_revenue then 'medium margin'
            else 'low margin'
        end as profitability_tier,
        is_core_customer,
        cast(rank() over (order by lifetime_revenue desc) as {{ dbt.type_bigint() }}) as revenue_rank,
        '{{ var("reporting_currency") }}' as reporting_currency
    from joined
)

select * from final

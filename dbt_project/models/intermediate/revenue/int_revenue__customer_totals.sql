{#- Revenue and margin per customer in the reporting currency, lifetime and trailing twelve months.
    T12M is the twelve months up to and including the LATEST REVENUE DATE IN THE DATA (not today),
    so a backfilled or replayed world reports the same figures. is_core_customer: the smallest
    set of customers, by lifetime revenue descending, whose cumulative revenue reaches 80% of all
    attributed revenue. One row per customer with at least one revenue line. -#}
with lines as (select * from {{ ref('int_revenue__customer_lines') }}),

attributed as (
    select * from lines where customer_id is not null
),

window_end as (
    select max(revenue_date) as t12m_end_date from lines
),

totals as (
    select
        attributed.customer_id,
        sum(amount_reporting) as lifetime_revenue,
        sum(margin_reporting) as lifetime_margin,
        sum(case when revenue_date > {{ dbt.dateadd('month', -12, 't12m_end_date') }}
            then amount_reporting else 0 end) as t12m_revenue,
        sum(case when revenue_date > {{ dbt.dateadd('month', -12, 't12m_end_date') }}
            then margin_reporting else 0 end) as t12m_margin,
        count(distinct case when is_sale then {{ dbt.concat(["system", "'|'", "order_id"]) }} end)
            as order_count,
        min(case when is_sale then revenue_date end) as first_purchase_date,
        max(case when is_sale then revenue_date end) as last_purchase_date,
        {{ distinct_list('product_line') }} as product_lines,
        {{ distinct_list('channel') }} as channels,
        max(t12m_end_date) as t12m_end_date
    from attributed
    cross join window_end
    group by attributed.customer_id
),

ranked as (
    select
        *,
        sum(lifetime_revenue) over (
            order by lifetime_revenue desc, customer_id rows between unbounded preceding and 1 preceding
        ) as revenue_before,
        sum(lifetime_revenue) over () as total_revenue
    from totals
),

final as (
    select
        customer_id, lifetime_revenue, lifetime_margin, t12m_revenue, t12m_margin,
        cast({{ dbt.dateadd('day', 1, dbt.dateadd('month', -12, 't12m_end_date')) }} as date)
            as t12m_start_date,
        t12m_end_date, order_count, first_purchase_date, last_purchase_date,
        product_lines, channels,
        lifetime_revenue > 0 and coalesce(revenue_before, 0) < 0.8 * total_revenue
            as is_core_customer
    from ranked
)

select * from final

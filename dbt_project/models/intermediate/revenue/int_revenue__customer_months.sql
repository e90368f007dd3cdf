{#- Each customer's revenue per calendar month, in the reporting currency, with whether the
    customer bought anything that month (a sale line with a positive amount). One row per
    customer and month with at least one revenue line. -#}
with revenue as (select * from {{ ref('int_revenue__customer_lines') }}),

final as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'revenue_date') }} as date) as activity_month,
        sum(amount_reporting) as revenue,
        max(case when is_sale and amount_reporting > 0 then 1 else 0 end) = 1 as is_active
    from revenue
    where customer_id is not null
    group by customer_id, cast({{ dbt.date_trunc('month', 'revenue_date') }} as date)
)

select * from final

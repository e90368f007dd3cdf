{#- Product-line penetration and cross-sell, as of the latest load date: buyers of each line,
    how many of them hold several lines, retention of multi-line versus single-line buyers
    (retained = bought in the var retention_window_days before the as-of date, among customers
    whose first purchase is older than that window), and the line most often adopted next, with
    its affinity and lift. One row per product line. -#}
with product_lines as (select * from {{ ref('int_analytics__customer_product_lines') }}),
signals as (select * from {{ ref('int_analytics__customer_signals') }}),

holdings as (
    select customer_id, count(*) as line_count
    from product_lines
    where first_purchase_date is not null
    group by customer_id
),

buyers as (
    select
        product_lines.customer_id,
        product_lines.product_line,
        product_lines.adoption_rank,
        holdings.line_count,
        {{ dbt.datediff('signals.first_purchase_date', 'signals.as_of_date', 'day') }}
            > {{ var('retention_window_days') }} as is_measurable,
        {{ dbt.datediff('signals.last_purchase_date', 'signals.as_of_date', 'day') }}
            <= {{ var('retention_window_days') }} as is_retained
    from product_lines
    inner join holdings on product_lines.customer_id = holdings.customer_id
    inner join signals on product_lines.customer_id = signals.customer_id
    where product_lines.first_purchase_date is not null
),

all_buyers as (
    select count(*) as buyer_count from holdings
),

per_line as (
    select
        product_line,
        count(*) as buyers,
        sum(case when line_count > 1 then 1 else 0 end) as multi_line_buyers,
        sum(case when is_measurable and line_count > 1 then 1 else 0 end) as multi_measurable,
        sum(case when is_measurable and line_count > 1 and is_retained then 1 else 0 end)
            as multi_retained,
        sum(case when is_measurable and line_count = 1 then 1 else 0 end) as single_measurable,
        sum(case when is_measurable and line_count = 1 and is_retained then 1 else 0 end)
            as single_retained
    from buyers
    group by product_line
),

next_lines as (
    select this_line.product_line, next_line.product_line as next_product_line, count(*) as customers
    from buyers as this_line
    inner join buyers as next_line
        on this_line.customer_id = next_line.customer_id
        and next_line.adoption_rank = this_line.adoption_rank + 1
    group by this_line.product_line, next_line.product_line
),

top_next as (
    select *
    from (
        select
            *,
            row_number() over (partition by product_line order by customers desc, next_product_line)
                as next_rank
        from next_lines
    ) as ranked
    where next_rank = 1
),

final as (
    select
        per_line.product_line,
        cast(per_line.buyers as {{ dbt.type_bigint() }}) as buyers,
        cast(round(per_line.buyers * 1.0 / all_buyers.buyer_count, 6) as double) as penetration,
        cast(per_line.multi_line_buyers as {{ dbt.type_bigint() }}) as multi_line_buyers,
        cast(round(per_line.multi_line_buyers * 1.0 / per_line.buyers, 6) as double)
            as multi_line_share,
        case when per_line.multi_measurable > 0 then cast(round(
            per_line.multi_retained * 1.0 / per_line.multi_measurable, 6) as double) end
            as multi_line_retention,
        case when per_line.single_measurable > 0 then cast(round(
            per_line.single_retained * 1.0 / per_line.single_measurable, 6) as double) end
            as single_line_retention,
        top_next.next_product_line,
        cast(coalesce(top_next.customers, 0) as {{ dbt.type_bigint() }}) as next_line_customers,
        case when top_next.customers is not null then cast(round(
            top_next.customers * 1.0 / per_line.buyers, 6) as double) end as next_line_affinity,
        case when top_next.customers is not null then cast(round(
            (top_next.customers * 1.0 / per_line.buyers)
            / (next_line_buyers.buyers * 1.0 / all_buyers.buyer_count), 6) as double) end
            as next_line_lift
    from per_line
    cross join all_buyers
    left join top_next on per_line.product_line = top_next.product_line
    left join per_line as next_line_buyers on top_next.next_product_line = next_line_buyers.product_line
)

select * from final

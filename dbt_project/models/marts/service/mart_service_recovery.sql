{#- The frontline list: customers with a bad experience in the var recovery_lookback_days before
    the as-of date (a poor satisfaction score, a failed delivery) or a complaint still unresolved,
    ranked by value, with what happened last. One row per such customer. -#}
with tickets as (select * from {{ ref('int_analytics__tickets') }}),
orders as (select * from {{ ref('stg_webshop__orders') }}),
identities as (select * from {{ ref('int_identity__customers') }}),
as_of as (select * from {{ ref('int_analytics__as_of_date') }}),
churn as (select * from {{ ref('mart_customer_churn') }}),
totals as (select * from {{ ref('int_revenue__customer_totals') }}),

window_start as (
    select {{ dbt.dateadd('day', -var('recovery_lookback_days'), 'as_of_date') }} as start_date
    from as_of
),

poor_scores as (
    select
        tickets.customer_id, 'poor_satisfaction_score' as experience_type,
        tickets.opened_date as experience_date, tickets.ticket_id as reference_id,
        {{ dbt.concat(["tickets.category", "' ticket scored '",
                       dbt.safe_cast('tickets.satisfaction_score', dbt.type_string())]) }} as detail
    from tickets
    cross join window_start
    where tickets.is_poor_score and tickets.opened_date > window_start.start_date
),

open_complaints as (
    select
        customer_id, 'unresolved_complaint', opened_date, ticket_id,
        {{ dbt.concat(["'complaint open since '", dbt.safe_cast('opened_date', dbt.type_string())]) }}
    from tickets
    where is_complaint and is_unresolved
),

failed_deliveries as (
    select
        identities.customer_id, 'failed_delivery', cast(orders.updated_at as date), orders.order_id,
        'webshop order not delivered'
    from orders
    inner join identities
        on identities.record_key = {{ dbt.concat(["'webshop:users:'", "orders.user_id"]) }}
    cross join window_start
    where orders.status = 'failed_delivery' and cast(orders.updated_at as date) > window_start.start_date
),

experiences as (
    select * from poor_scores where customer_id is not null
    union all select * from open_complaints where customer_id is not null
    union all select * from failed_deliveries
),

latest as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by customer_id order by experience_date desc, reference_id desc
            ) as recency_rank
        from experiences
    ) as ranked
    where recency_rank = 1
),

per_customer as (
    select
        customer_id,
        sum(case when experience_type = 'poor_satisfaction_score' then 1 else 0 end) as poor_score_count,
        sum(case when experience_type = 'unresolved_complaint' then 1 else 0 end)
            as unresolved_complaint_count,
        sum(case when experience_type = 'failed_delivery' then 1 else 0 end) as failed_delivery_count
    from experiences
    group by customer_id
),

final as (
    select
        per_customer.customer_id,
        churn.customer_segment,
        churn.churn_status,
        cast(rank() over (
            order by coalesce(totals.t12m_revenue, 0) desc, coalesce(totals.lifetime_revenue, 0) desc
        ) as {{ dbt.type_bigint() }}) as recovery_priority,
        cast(coalesce(totals.t12m_revenue, 0) as {{ money_type() }}) as t12m_revenue_amount,
        cast(coalesce(totals.lifetime_revenue, 0) as {{ money_type() }}) as lifetime_revenue_amount,
        cast(per_customer.poor_score_count as {{ dbt.type_bigint() }}) as poor_score_count,
        cast(per_customer.unresolved_complaint_count as {{ dbt.type_bigint() }})
            as unresolved_complaint_count,
        cast(per_customer.failed_delivery_count as {{ dbt.type_bigint() }}) as failed_delivery_count,
        latest.experience_type as last_experience_type,
        latest.experience_date as last_experience_date,
        latest.reference_id as last_experience_reference,
        latest.detail as last_experience_detail,
        churn.as_of_date,
        '{{ var("reporting_currency") }}' as reporting_currency
    from per_customer
    inner join latest on per_customer.customer_id = latest.customer_id
    inner join churn on per_customer.customer_id = churn.customer_id
    left join totals on per_customer.customer_id = totals.customer_id
)

select * from final

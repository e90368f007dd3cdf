{#- Share of wallet of B2B customers: revenue of the trailing twelve months against the yearly
    spend potential declared on their CRM business accounts (converted to the reporting currency
    at the as-of date's rate). One row per customer with a declared spend potential. -#}
with accounts as (select * from {{ staging_ref('crm', 'accounts') }}),
identities as (select * from {{ ref('int_identity__customers') }}),
rates as (select * from {{ ref('int_fx__rates') }}),
totals as (select * from {{ ref('int_revenue__customer_totals') }}),
customers as (select * from {{ ref('dim_customers') }}),
as_of as (select * from {{ ref('int_analytics__as_of_date') }}),

rate_day as (
    select max(rates.rate_date) as rate_date
    from rates
    cross join as_of
    where rates.rate_date <= as_of.as_of_date
),

potentials as (
    select
        identities.customer_id,
        count(*) as account_count,
        sum({{ convert_money('accounts.spend_potential', 'potential_rate') }}) as spend_potential_amount
    from accounts
    inner join identities
        on identities.record_key = {{ dbt.concat(["'crm:accounts:'", "accounts.account_id"]) }}
    cross join rate_day
    inner join rates as potential_rate
        on accounts.spend_potential_currency = potential_rate.currency
        and potential_rate.rate_date = rate_day.rate_date
    where accounts.spend_potential > 0
    group by identities.customer_id
),

final as (
    select
        potentials.customer_id,
        customers.customer_name,
        customers.customer_segment,
        cast(potentials.account_count as {{ dbt.type_bigint() }}) as account_count,
        cast(potentials.spend_potential_amount as {{ money_type() }}) as spend_potential_amount,
        cast(coalesce(totals.t12m_revenue, 0) as {{ money_type() }}) as t12m_revenue_amount,
        cast(round(coalesce(totals.t12m_revenue, 0) * 1.0 / potentials.spend_potential_amount, 6)
            as double) as share_of_wallet,
        cast(greatest(potentials.spend_potential_amount - coalesce(totals.t12m_revenue, 0), 0)
            as {{ money_type() }}) as headroom_amount,
        as_of.as_of_date,
        '{{ var("reporting_currency") }}' as reporting_currency
    from potentials
    cross join as_of
    inner join customers on potentials.customer_id = customers.customer_id
    left join totals on potentials.customer_id = totals.customer_id
)

select * from final

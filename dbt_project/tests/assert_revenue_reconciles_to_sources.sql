{{ config(meta={'dagster': {'ref': {'name': 'fct_revenue'}}}) }}
{#- Reconciliation: fct_revenue plus the rejected lines, per system, day and currency, equals
    the totals computed straight from the raw sources (latest version of each record, same revenue definition, webshop orders
    invoiced by ERP left to ERP), to the cent. Returns the (system, day, currency) that differ. -#}
with invoices as (select * from {{ latest_source_rows('erp', 'invoices', ['invoice_no'], 'updated_at') }}),
orders as (select * from {{ latest_source_rows('webshop', 'orders', ['order_id'], 'updated_at') }}),

source_totals as (
    select 'erp' as system, i.invoice_date as revenue_date, upper(trim(l.currency)) as currency,
        sum(l.line_amount) as amount
    from {{ latest_source_rows('erp', 'invoice_lines', ['invoice_no', 'line_no']) }} as l
    inner join invoices as i on l.invoice_no = i.invoice_no
    where lower(trim(i.status)) <> 'cancelled'
    group by 1, 2, 3
    union all
    select 'erp', credit_date, upper(trim(currency)), -sum(amount)
    from {{ latest_source_rows('erp', 'credit_notes', ['credit_note_no']) }} as c
    group by 1, 2, 3
    union all
    select 'pos', cast({{ to_utc('purchased_at') }} as date), upper(trim(currency)),
        sum(quantity * unit_price)
    from {{ latest_source_rows('pos', 'basket_lines', ['basket_id', 'line_no']) }} as b
    group by 1, 2, 3
    union all
    select 'webshop', cast({{ to_utc('o.ordered_at') }} as date), upper(trim(l.currency)),
        sum(l.quantity * l.unit_price)
    from {{ latest_source_rows('webshop', 'order_lines', ['order_id', 'line_no']) }} as l
    inner join orders as o on l.order_id = o.order_id
    where lower(trim(o.status)) not in ('cancelled', 'returned', 'failed_delivery')
        and l.order_id not in (
            select webshop_order_id from invoices where webshop_order_id is not null
        )
    group by 1, 2, 3
    union all
    select 'subscriptions', charge_date, upper(trim(currency)), sum(amount)
    from {{ latest_source_rows('subscriptions', 'charges', ['charge_id']) }} as s
    group by 1, 2, 3
),

source_by_day as (
    select system, revenue_date, currency, sum(amount) as amount
    from source_totals
    group by system, revenue_date, currency
),

warehouse_lines as (
    select system, revenue_date, currency, amount from {{ ref('fct_revenue') }}
    union all
    select system, revenue_date, currency, amount from {{ ref('int_revenue__rejected_lines') }}
),

warehouse_by_day as (
    select system, revenue_date, currency, sum(amount) as amount
    from warehouse_lines
    group by system, revenue_date, currency
),

final as (
    select
        coalesce(s.system, w.system) as system,
        coalesce(s.revenue_date, w.revenue_date) as revenue_date,
        coalesce(s.currency, w.currency) as currency,
        s.amount as source_amount,
        w.amount as warehouse_amount
    from source_by_day as s
    full outer join warehouse_by_day as w
        on s.system = w.system and s.revenue_date = w.revenue_date and s.currency = w.currency
    where s.amount is null or w.amount is null or s.amount <> w.amount
)

select * from final

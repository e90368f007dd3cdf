{#- Unified revenue events in their original currency, one row per revenue line:
    (1) ERP invoice lines of invoices not cancelled; (2) ERP credit notes, negated;
    (3) POS basket lines; (4) webshop order lines of orders that ERP did not invoice and that were
    not cancelled, returned or failed in delivery; (5) subscription charges.
    A view: int_revenue__lines_converted reads it whole on every build and keeps what changed,
    so writing every line again here would only cost. -#}
{{ config(materialized='view') }}
with invoice_lines as (select * from {{ ref('stg_erp__invoice_lines') }}),
invoices as (select * from {{ staging_ref('erp', 'invoices') }}),
credit_notes as (select * from {{ ref('stg_erp__credit_notes') }}),
basket_lines as (select * from {{ ref('stg_pos__basket_lines') }}),
orders as (select * from {{ ref('stg_webshop__orders') }}),
order_lines as (select * from {{ ref('stg_webshop__order_lines') }}),
charges as (select * from {{ ref('stg_subscriptions__charges') }}),
plans as (select * from {{ ref('stg_subscriptions__plans') }}),

invoiced_orders as (
    select distinct webshop_order_id from invoices where webshop_order_id is not null
),

erp_invoice_lines as (
    select
        'erp' as system, 'invoice_lines' as entity, invoice_lines.invoice_no as source_id,
        invoice_lines.line_no, invoice_lines.invoice_no as order_id,
        case when invoices.webshop_order_id is not null then 'webshop' else 'erp' end as channel,
        invoices.invoice_date as revenue_date, invoice_lines.sku,
        cast(null as {{ dbt.type_string() }}) as plan_product_line, invoice_lines.quantity,
        invoice_lines.unit_price as unit_amount, invoice_lines.line_amount as amount,
        invoice_lines.currency,
        {{ dbt.concat(["'erp:customers:'", "invoices.customer_no"]) }} as customer_record_key,
        invoice_lines._source_file as source_file, invoice_lines._source_row as source_row
    from invoice_lines
    inner join invoices on invoice_lines.invoice_no = invoices.invoice_no
    where invoices.status <> 'cancelled'
),

erp_credit_notes as (
    select
        'erp', 'credit_notes', credit_notes.credit_note_no, 1, cast(null as {{ dbt.type_string() }}),
        case when invoices.webshop_order_id is not null then 'webshop' else 'erp' end,
        credit_notes.credit_date, credit_notes.sku, null, cast(null as {{ dbt.type_bigint() }}),
        credit_notes.amount, -credit_notes.amount, credit_notes.currency,
        {{ dbt.concat(["'erp:customers:'", "credit_notes.customer_no"]) }},
        credit_notes._source_file, credit_notes._source_row
    from credit_notes
    left join invoices on credit_notes.invoice_no = invoices.invoice_no
),

pos_basket_lines as (
    select
        'pos', 'basket_lines', basket_id, line_no, basket_id, 'pos',
        cast(purchased_at as date), sku, null, quantity,
        unit_price, quantity * unit_price, currency,
        case when card_no is not null then {{ dbt.concat(["'pos:loyalty_cards:'", "card_no"]) }} end,
        _source_file, _source_row
    from basket_lines
),

webshop_order_lines as (
    select
        'webshop', 'order_lines', order_lines.order_id, order_lines.line_no, order_lines.order_id,
        'webshop', cast(orders.ordered_at as date), order_lines.sku, null, order_lines.quantity,
        order_lines.unit_price, order_lines.quantity * order_lines.unit_price,
        order_lines.currency,
        {{ dbt.concat(["'webshop:users:'", "orders.user_id"]) }},
        order_lines._source_file, order_lines._source_row
    from order_lines
    inner join orders on order_lines.order_id = orders.order_id
    left join invoiced_orders on order_lines.order_id = invoiced_orders.webshop_order_id
    where invoiced_orders.webshop_order_id is null
        and orders.status not in ('cancelled', 'returned', 'failed_delivery')
),

subscription_charges as (
    select
        'subscriptions', 'charges', charges.charge_id, 1, charges.charge_id, 'subscription',
        charges.charge_date, cast(null as {{ dbt.type_string() }}), plans.product_line, cast(null as {{ dbt.type_bigint() }}),
        charges.amount, charges.amount, charges.currency,
        {{ dbt.concat(["'subscriptions:subscribers:'", "charges.subscriber_id"]) }},
        charges._source_file, charges._source_row
    from charges
    left join plans on charges.plan_id = plans.plan_id
),

unioned as (
    select * from erp_invoice_lines
    union all select * from erp_credit_notes
    union all select * from pos_basket_lines
    union all select * from webshop_order_lines
    union all select * from subscription_charges
),

final as (
    select
        {{ dbt.hash(dbt.concat(["system", "'|'", "entity", "'|'", "source_id", "'|'", dbt.safe_cast("line_no", dbt.type_string())])) }} as revenue_line_id,
        *,
        entity <> 'credit_notes' as is_sale
    from unioned
)

select * from final

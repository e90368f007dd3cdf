{#- One row per revenue line (definition in int_revenue__lines), with its customer.
    Anonymous POS baskets stay, with a null customer_id. -#}
with lines as (select * from {{ ref('int_revenue__customer_lines') }}),

final as (
    select
        lines.revenue_line_id,
        lines.system,
        lines.entity,
        lines.source_id,
        lines.line_no,
        lines.order_id,
        lines.channel,
        lines.revenue_date,
        lines.customer_id,
        lines.customer_record_key as customer_source_key,
        lines.is_sale,
        lines.sku,
        lines.product_line,
        lines.quantity,
        cast(lines.amount as {{ money_type() }}) as amount,
        lines.currency,
        lines.amount_reporting,
        lines.cost_reporting,
        cast(lines.margin_reporting as {{ money_type() }}) as margin_reporting,
        lines.reporting_currency,
        lines.source_file,
        lines.source_row
    from lines
)

select * from final

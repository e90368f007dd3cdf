{#- One row per revenue line (definition in int_revenue__lines), with its customer.
    Anonymous POS baskets stay, with a null customer_id.
    Incremental: a build writes the lines int_revenue__customer_lines wrote since this model's
    last build; the post-hook deletes the lines gone there. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='revenue_line_id',
    post_hook="{{ delete_rows_gone_upstream(ref('int_revenue__customer_lines'), ['revenue_line_id']) }}",
) }}
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
        lines.source_row,
        lines.resolved_at
    from lines
    {%- if is_incremental() %}
    where {{ resolved_since_last_build('lines.resolved_at') }}
    {%- endif %}
)

select * from final

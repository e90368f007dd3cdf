{#- Revenue lines with amount, cost and margin in the reporting currency, rounded per line.
    Cost is unit_cost x quantity from the product catalogue, converted on the revenue date;
    lines without a product or quantity (subscription charges, credit notes) carry no cost.
    rejection_reason flags lines the gate should have quarantined (unknown currency, no rate on
    the revenue date, negative or implausible unit amounts); they are kept out of fct_revenue and
    listed in int_revenue__rejected_lines. One row per revenue line. -#}
with lines as (select * from {{ ref('int_revenue__lines') }}),
rates as (select * from {{ ref('int_fx__rates') }}),
products as (select * from {{ ref('stg_reference__products') }}),

converted as (
    select
        lines.*,
        coalesce(products.product_line, lines.plan_product_line) as product_line,
        '{{ var("reporting_currency") }}' as reporting_currency,
        line_rate.units_per_eur,
        line_rate.reporting_units_per_eur,
        {{ convert_money('lines.amount', 'line_rate') }} as amount_reporting,
        coalesce(
            {{ convert_money('products.unit_cost * lines.quantity', 'cost_rate') }}, 0
        ) as cost_reporting
    from lines
    left join products on lines.sku = products.sku
    left join rates as line_rate
        on lines.currency = line_rate.currency and lines.revenue_date = line_rate.rate_date
    left join rates as cost_rate
        on products.cost_currency = cost_rate.currency and lines.revenue_date = cost_rate.rate_date
),

final as (
    select
        *,
        amount_reporting - cost_reporting as margin_reporting,
        case
            when currency not in (select currency from rates) then 'unknown_currency'
            when amount_reporting is null then 'no_fx_rate_on_revenue_date'
            when unit_amount < 0 then 'negative_unit_amount'
            when unit_amount * reporting_units_per_eur / units_per_eur
                > {{ var('max_unit_amount_reporting', 100000) }} then 'implausible_unit_amount'
        end as rejection_reason
    from converted
)

select * from final

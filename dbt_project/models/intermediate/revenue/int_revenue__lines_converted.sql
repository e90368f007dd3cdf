{#- Revenue lines with amount, cost and margin in the reporting currency, rounded per line.
    Cost is unit_cost x quantity from the product catalogue, converted on the revenue date;
    lines without a product or quantity (subscription charges, credit notes) carry no cost.
    rejection_reason flags lines the gate should have quarantined (unknown currency, no rate on
    the revenue date, negative or implausible unit amounts); they are kept out of fct_revenue and
    listed in int_revenue__rejected_lines. One row per revenue line.
    Incremental: every build works out all lines and compares them with its last build's by
    line_hash, a fingerprint of the whole row, and writes only the lines that are new or differ (a
    re-delivered or cancelled document, a webshop order invoiced later, a corrected rate or unit
    cost): comparing costs a fraction of writing every line again. A line gone from
    int_revenue__lines, or changed, is also written as a tombstone (its key, with no resolved_at),
    so that delete+insert deletes its row, and the post-hook deletes the tombstones. Nothing else
    tells a later model a line is gone: they delete their rows whose line is gone here. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='revenue_line_id',
    post_hook="{{ delete_tombstones() }}",
) }}
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

checked as (
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
),

fingerprinted as (
    select *, {{ row_hash('checked') }} as line_hash
    from checked
),

{% if is_incremental() %}
previous as (
    select revenue_line_id, line_hash from {{ this }}
),

{#- one join on the fingerprints finds the new or changed lines, which this build writes, and
    the last build's lines gone or changed, which get a tombstone (the key alone, no
    resolved_at): the lines are worked out once, and a join on 64-bit integers costs a fraction
    of one on the keys. A changed line would be missed only if its new fingerprint equalled
    another line's: about once in 2 * 10^12 changed lines at 9M lines. `* replace`: incremental
    builds run on DuckDB only (incremental_materialization). -#}
final as (
    select
        fingerprinted.* replace (
            coalesce(fingerprinted.revenue_line_id, previous.revenue_line_id) as revenue_line_id
        ),
        case when fingerprinted.line_hash is not null then {{ resolved_at() }} end as resolved_at
    from fingerprinted
    full outer join previous on fingerprinted.line_hash = previous.line_hash
    where fingerprinted.line_hash is null or previous.line_hash is null
)
{% else %}
final as (
    select *, {{ resolved_at() }} as resolved_at from fingerprinted
)
{% endif %}

select * from final

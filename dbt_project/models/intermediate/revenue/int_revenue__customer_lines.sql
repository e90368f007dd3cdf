{#- Accepted revenue lines (no rejection_reason) with the customer_id their customer source
    record resolved to (null for anonymous POS baskets and for lines whose customer record is
    unknown). One row per accepted revenue line.
    Incremental: a build writes the lines int_revenue__lines_converted wrote since this model's
    last build, and the lines whose customer record now belongs to another customer (a merge or
    a split of customers); the post-hook deletes the lines gone or rejected upstream. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='revenue_line_id',
    post_hook="{{ delete_rows_gone_upstream(ref('int_revenue__lines_converted'), ['revenue_line_id'], upstream_where='rejection_reason is null') }}",
) }}
{%- set line_columns = [
    'revenue_line_id', 'system', 'entity', 'source_id', 'line_no', 'order_id', 'channel',
    'revenue_date', 'customer_record_key', 'is_sale', 'sku', 'product_line', 'quantity', 'amount',
    'currency', 'amount_reporting', 'cost_reporting', 'margin_reporting', 'reporting_currency',
    'source_file', 'source_row',
] %}
with lines as (select * from {{ ref('int_revenue__lines_converted') }}),
identities as (select * from {{ ref('int_identity__customers') }}),

{% if is_incremental() %}
resolved as (
    select * from lines
    where {{ resolved_since_last_build('resolved_at') }}
),

remapped as (
    select previous.*
    from {{ this }} as previous
    left join identities on previous.customer_record_key = identities.record_key
    where previous.customer_id is distinct from identities.customer_id
        and previous.revenue_line_id not in (select revenue_line_id from resolved)
),

to_write as (
    select {{ line_columns | join(', ') }} from resolved
    where rejection_reason is null
    union all
    select {{ line_columns | join(', ') }} from remapped
),
{% else %}
to_write as (
    select {{ line_columns | join(', ') }} from lines
    where rejection_reason is null
),
{% endif %}

final as (
    select
        identities.customer_id,
        to_write.*,
        {{ resolved_at() }} as resolved_at
    from to_write
    left join identities on to_write.customer_record_key = identities.record_key
)

select * from final

{#- Orders placed in the shop (the lines are the order_lines entity). One row per order_id: the latest delivered version. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['order_id'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('webshop', 'orders')) }}",
) }}
with source as (
    select * from {{ staged_source('webshop', 'orders', ['order_id']) }}
),

versions as (
    select
        *,
        {{ version_rank(['order_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        order_id,
        user_id,
        {{ to_utc('ordered_at') }} as ordered_at,
        {{ iso_code('currency') }} as currency,
        total_amount,
        lower(trim(status)) as status,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final

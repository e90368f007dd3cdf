{#- Every change of customer ids, appended build after build: a customer created, an id merged
    into another (the older id is kept), a new id split from an old one. Like
    int_identity__customers, it reads its previous version while the new one is created (not
    on Spark, which drops it first: there each build records its own changes, macro
    previous_build). One row per (customer_id, change, related_customer_id, changed_at). -#}
{%- set previous_build = previous_build('changed_at') %}

with customers as (select * from {{ ref('int_identity__customers') }}),

{%- set changed_at = "cast('" ~ run_started_at.strftime("%Y-%m-%d %H:%M:%S") ~ "' as " ~ dbt.type_timestamp() ~ ")" %}

current_ids as (
    select distinct customer_id from customers
),

previous_ids as (
    select distinct previous_customer_id as customer_id
    from customers
    where previous_customer_id is not null
),

{#- old id -> new id, per record that moved -#}
moves as (
    select previous_customer_id, customer_id, count(*) as record_count
    from customers
    where previous_customer_id is not null and previous_customer_id <> customer_id
    group by previous_customer_id, customer_id
),

created as (
    select customers.customer_id, 'created' as change,
        cast(null as {{ dbt.type_string() }}) as related_customer_id, count(*) as record_count
    from customers
    where customers.customer_id not in (select customer_id from previous_ids)
        and customers.customer_id not in (select customer_id from moves)
    group by customers.customer_id
),

merged as (
    select moves.previous_customer_id as customer_id, 'merged_into' as change,
        moves.customer_id as related_customer_id, moves.record_count
    from moves
    where moves.previous_customer_id not in (select customer_id from current_ids)
        and moves.customer_id in (select customer_id from previous_ids)
),

split as (
    select moves.customer_id, 'split_from' as change,
        moves.previous_customer_id as related_customer_id, moves.record_count
    from moves
    where moves.customer_id not in (select customer_id from previous_ids)
),

changes as (
    select * from created
    union all
    select * from merged
    union all
    select * from split
),

final as (
    {% if previous_build is not none %}
    select customer_id, change, related_customer_id, record_count, changed_at
    from {{ previous_build }}
    where changed_at < {{ changed_at }}
    union all
    {% endif %}
    select
        customer_id,
        change,
        related_customer_id,
        cast(record_count as integer) as record_count,
        {{ changed_at }} as changed_at
    from changes
)

select * from final

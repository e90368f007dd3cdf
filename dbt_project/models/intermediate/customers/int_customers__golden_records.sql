{#- The golden record: one row per customer. Each attribute survives from the most trusted system
    that has a value (trust order: crm, erp, webshop, subscriptions, pos, support), within a
    system from the most recently updated record, and between records updated at once from the
    first record_key. It depends on the identity tables alone, never on the as-of date.
    Incremental: each row keeps the fingerprint of the member records it was worked out from
    (the sum of their keys' 64-bit hashes, their count and their newest resolved_at). A build
    takes the same fingerprint of every customer's current members (one group-by, no window) and
    works out again only the customers whose fingerprint differs: a record joined, left or was
    resolved again (its attributes may have changed; int_identity__source_records stamps each
    record it writes). The comparison is with the table's own rows, so a build stopped half-way
    is caught up by the next. A customer gone (merged into another, its records deleted) is
    written as a tombstone (its key, no resolved_at), which delete+insert uses to delete its
    row, and the post-hook deletes the tombstones. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='customer_id',
    post_hook="{{ delete_tombstones() }}",
) }}
with records as (select * from {{ ref('int_identity__source_records') }}),
identities as (select * from {{ ref('int_identity__customers') }}),

{% if is_incremental() %}
{#- the fingerprint of every customer's current members -#}
fingerprints as (
    select
        identities.customer_id,
        sum({{ numeric_hash('records.record_key') }}) as member_key_signature,
        count(*) as source_record_count,
        max(records.resolved_at) as members_resolved_at
    from records
    inner join identities on records.record_key = identities.record_key
    group by identities.customer_id
),

previous as (
    select customer_id, member_key_signature, source_record_count, members_resolved_at, resolved_at
    from {{ this }}
),

{#- the customers new, changed or gone since the row was worked out (a tombstone left by a
    build stopped before its post-hook counts as changed) -#}
rewritten as (
    select
        coalesce(fingerprints.customer_id, previous.customer_id) as customer_id,
        fingerprints.customer_id is not null as is_current
    from fingerprints
    full outer join previous on fingerprints.customer_id = previous.customer_id
    where previous.customer_id is null
        or fingerprints.customer_id is null
        or previous.resolved_at is null
        or fingerprints.member_key_signature <> previous.member_key_signature
        or fingerprints.source_record_count <> previous.source_record_count
        or fingerprints.members_resolved_at <> previous.members_resolved_at
),
{% endif %}

members as (
    select
        identities.customer_id,
        records.*,
        {#- the record key breaks ties (two CRM records updated in one second): without it the
            surviving value was whichever the engine met first, and DuckDB and Spark differed -#}
        row_number() over (
            partition by identities.customer_id
            order by records.trust_rank, records.updated_at desc nulls last, records.record_key
        ) as survivorship_key
    from records
    inner join identities on records.record_key = identities.record_key
    {% if is_incremental() -%}
    {#- whole customers only: the window ranks a customer's records among themselves #}
    where identities.customer_id in (select customer_id from rewritten where is_current)
    {% endif -%}
),

{% set attributes = ['person_name', 'company_name', 'given_name', 'family_name', 'email', 'phone',
                     'birth_date', 'tax_id', 'street', 'postcode', 'city', 'country'] %}
golden as (
    select
        customer_id,
        max(case when is_business then 1 else 0 end) = 1 as is_business,
        {% for attribute in attributes %}
        {{ value_with_min_key(attribute, 'survivorship_key') }} as {{ attribute }},
        {% endfor %}
        {{ distinct_list('system') }} as source_systems,
        count(*) as source_record_count,
        min(created_at) as first_seen_at,
        max(updated_at) as last_updated_at,
        {{ value_with_min_key('system', '-' ~ epoch_seconds('updated_at')) }} as last_updated_system,
        sum({{ numeric_hash('record_key') }}) as member_key_signature,
        max(resolved_at) as members_resolved_at,
        {{ resolved_at() }} as resolved_at
    from members
    group by customer_id
),

{% if is_incremental() %}
{#- the customers worked out again, and a tombstone for each customer gone (every other column
    null; `by name`: incremental builds run on DuckDB only, incremental_materialization) -#}
final as (
    select * from golden
    union all by name
    select customer_id from rewritten where not is_current
)
{% else %}
final as (
    select * from golden
)
{% endif %}

select * from final

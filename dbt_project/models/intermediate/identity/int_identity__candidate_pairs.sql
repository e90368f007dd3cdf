{#- Blocking: the pairs of source records worth comparing, those sharing at least one blocking
    key (the name-and-postcode rules also pair typos in one name part). Without blocking a million records make 5 * 10^11 pairs; with it the pairs grow about
    linearly. A key held by more records than var identity_max_block_records allows for its
    rule (a placeholder value, a very common name) is skipped and the records fall back on
    their other keys. A given or family name with a postcode has a low cap: a postcode's
    addresses are fixed while its records grow with the customers.
    Persons are compared with persons and businesses with businesses: a contact joins its
    company through the CRM account, not by resemblance.
    Incremental: a build pairs only the records resolved since its last build (new or changed)
    with all records; the pairs of a changed or deleted record are replaced or deleted.
    One row per pair (record_key_l < record_key_r). -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['record_key_l', 'record_key_r'],
    post_hook=[
        "{{ delete_rows_of_records_resolved_again(ref('int_identity__record_features'), ['record_key_l', 'record_key_r']) }}",
        "{{ delete_rows_of_records_gone(ref('int_identity__record_features'), ['record_key_l', 'record_key_r']) }}",
    ],
) }}
-- depends_on: {{ ref('int_identity__record_features') }} (the post-hook's)
with blocks as {{ inlined_cte() }} (select * from {{ ref('int_identity__record_blocks') }}),

{% set block_caps = var('identity_max_block_records') %}

{% if is_incremental() %}
{#- incrementally, only the blocks holding a record resolved since the last build -#}
resolved_blocks as (
    select distinct blocking_rule, block_key
    from blocks
    where {{ resolved_since_last_build('resolved_at') }}
),

blocked as (
    select blocks.*
    from blocks
    inner join resolved_blocks
        on blocks.blocking_rule = resolved_blocks.blocking_rule
        and blocks.block_key = resolved_blocks.block_key
),
{% else %}
blocked as (
    select * from blocks
),
{% endif %}

block_sizes as (
    select blocking_rule, block_key, count(*) as block_records
    from blocked
    group by blocking_rule, block_key
),

usable as (
    select blocked.*
    from blocked
    inner join block_sizes
        on blocked.blocking_rule = block_sizes.blocking_rule and blocked.block_key = block_sizes.block_key
    where block_sizes.block_records between 2 and case blocked.blocking_rule
        {%- for rule, cap in block_caps.items() if rule != 'default' %}
        when '{{ rule }}' then {{ cap }}
        {%- endfor %}
        else {{ block_caps['default'] }} end
),

{% if is_incremental() %}
resolved as (
    select * from usable
    where {{ resolved_since_last_build('resolved_at') }}
),
{% endif %}

{#- incrementally, the records resolved in this build against all records (either end) -#}
pairs as (
    select
        least(l.record_key, r.record_key) as record_key_l,
        greatest(l.record_key, r.record_key) as record_key_r,
        min(l.blocking_rule) as blocking_rule
    from {{ 'resolved' if is_incremental() else 'usable' }} as l
    inner join usable as r
        on l.blocking_rule = r.blocking_rule
        and l.block_key = r.block_key
        and l.record_key {{ '<>' if is_incremental() else '<' }} r.record_key
        and l.is_business = r.is_business
    group by least(l.record_key, r.record_key), greatest(l.record_key, r.record_key)
),

final as (
    select pairs.*, {{ resolved_at() }} as resolved_at
    from pairs
)

select * from final

{#- Connected components of the link graph: every source record with its cluster, named by the
    cluster's smallest record_key. One row per source record. -#}
with records as (select * from {{ ref('int_identity__source_records') }}),
links as (select * from {{ ref('int_identity__links') }}),

edges as (
    select record_key, linked_record_key as neighbour_key from links
    union all
    select linked_record_key, record_key from links
),

nodes as (
    select record_key from records
),

{{ min_label_passes('nodes', 'edges', var('identity_label_passes', 12)) }},

matched_on as (
    select record_key, {{ distinct_list('match_rule') }} as matched_on
    from (
        select record_key, match_rule from links
        union all
        select linked_record_key, match_rule from links
    ) as link_ends
    group by record_key
),

final as (
    select
        records.system,
        records.entity,
        records.source_id,
        records.record_key,
        labels.label as cluster_key,
        coalesce(matched_on.matched_on, 'unmatched') as matched_on
    from records
    inner join labels on records.record_key = labels.record_key
    left join matched_on on records.record_key = matched_on.record_key
)

select * from final

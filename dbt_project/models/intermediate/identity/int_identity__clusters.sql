{#- Connected components of the link graph: every source record with its cluster, named by the
    cluster's smallest record_key. Incremental: a cluster of the last build (this model's own
    previous state) whose records are all still there with the same links (link_signature: the
    linked records and the links' rules) is kept as it was, its records' matched_on too; the
    components and matched_on are worked out again only over the records of the other clusters
    and the new records. A record's links changing changes the signatures of both ends, so a
    link never joins a kept cluster to a reworked record. Labels propagate as integers
    numbered in record_key order (a tenth of the memory of the keys at a million customers),
    so the smallest number is the smallest record_key. One row per source record. -#}
{#- the unrolled label passes make one deep query (deep_query_hooks: Spark's analyzer needs more
    than its default iterations) -#}
{{ config(pre_hook=deep_query_hooks()) }}
{%- set last_build = previous_build('link_signature') %}

with records as (select * from {{ ref('int_identity__source_records') }}),
links as {{ inlined_cte() }} (select * from {{ ref('int_identity__links') }}),

edges as (
    select record_key, linked_record_key as neighbour_key, match_rule from links
    union all
    select linked_record_key, record_key, match_rule from links
),

{#- order-insensitive: a sum of the 64-bit hashes of the linked records with the links' rules;
    and matched_on, the record's rules (a flag per rule: collecting the rules took a third of
    the model's time at a million customers) -#}
signatures as (
    select
        record_key,
        sum({{ numeric_hash(dbt.concat(['neighbour_key', "':'", 'match_rule'])) }}) as link_signature,
        {{ distinct_list_of_known('match_rule', identity_match_rules()) }} as matched_on
    from edges
    group by record_key
),

{% if last_build is not none %}
previous as (
    select record_key, cluster_key, matched_on, link_signature from {{ last_build }}
),
{% else %}
previous as (
    select
        cast(null as {{ dbt.type_string() }}) as record_key,
        cast(null as {{ dbt.type_string() }}) as cluster_key,
        cast(null as {{ dbt.type_string() }}) as matched_on,
        cast(null as decimal(38, 0)) as link_signature
    from records
    where 1 = 0
),
{% endif %}

linked_records as (
    select
        records.system,
        records.entity,
        records.source_id,
        records.record_key,
        signatures.link_signature,
        coalesce(signatures.matched_on, 'unmatched') as matched_on
    from records
    left join signatures on records.record_key = signatures.record_key
),

{#- a cluster with a record gone or linked differently is worked out again -#}
changed_clusters as (
    select distinct previous.cluster_key
    from previous
    left join linked_records on previous.record_key = linked_records.record_key
    where linked_records.record_key is null
        or coalesce(linked_records.link_signature, 0) <> coalesce(previous.link_signature, 0)
),

kept as (
    select
        linked_records.system,
        linked_records.entity,
        linked_records.source_id,
        linked_records.record_key,
        previous.cluster_key,
        previous.matched_on,
        linked_records.link_signature
    from linked_records
    inner join previous on linked_records.record_key = previous.record_key
    where previous.cluster_key not in (select cluster_key from changed_clusters)
),

reworked as (
    select linked_records.*, row_number() over (order by record_key) as node_id
    from linked_records
    where record_key not in (select record_key from kept)
),

nodes as (
    select node_id as record_key from reworked
),

{#- the links between reworked records as node ids, both directions (a link joins two reworked
    records or two kept ones) -#}
reworked_links as (
    select l.node_id as record_key, r.node_id as neighbour_key
    from links
    inner join reworked as l on links.record_key = l.record_key
    inner join reworked as r on links.linked_record_key = r.record_key
),

reworked_edges as (
    select record_key, neighbour_key from reworked_links
    union all
    select neighbour_key, record_key from reworked_links
),

{{ min_label_passes('nodes', 'reworked_edges', var('identity_label_passes', 12)) }},

final as (
    select system, entity, source_id, record_key, cluster_key, matched_on, link_signature from kept
    union all
    select
        reworked.system,
        reworked.entity,
        reworked.source_id,
        reworked.record_key,
        anchor.record_key as cluster_key,
        reworked.matched_on,
        reworked.link_signature
    from labels
    inner join reworked on labels.record_key = reworked.node_id
    inner join reworked as anchor on labels.label = anchor.node_id
)

select * from final

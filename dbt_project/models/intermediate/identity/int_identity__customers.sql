{#- Stable customer ids. Each build's clusters are matched against the ids the records had after
    the previous build (this model's own previous state):
    - a cluster whose records had no id is a new customer: a new id;
    - an old id stays with the cluster that holds most of its records (a split: the other
      clusters get new ids, recorded as split from it);
    - a cluster holding several old ids (a merge) keeps the oldest; the others are recorded as
      merged into it.
    The table is rebuilt whole each time, reading its previous version while the new one is
    created (dbt swaps them after); drop it, or set var identity_reset_customer_ids, to start
    the ids afresh. customer_id_history records every change. One row per source record. -#}
{#- a previous build from before stable ids (no customer_created_at) cannot be followed -#}
{%- set last_build = previous_build('customer_created_at') if not var('identity_reset_customer_ids') else none %}

with clusters as {{ inlined_cte() }} (select * from {{ ref('int_identity__clusters') }}),

{% if last_build is not none %}
previous as (
    select record_key, customer_id, customer_created_at from {{ last_build }}
),
{% else %}
previous as (
    select
        cast(null as {{ dbt.type_string() }}) as record_key,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_timestamp() }}) as customer_created_at
    from clusters
    where 1 = 0
),
{% endif %}

{#- how many of each old id's records every cluster holds -#}
claims as (
    select
        clusters.cluster_key,
        previous.customer_id,
        min(previous.customer_created_at) as customer_created_at,
        count(*) as records_held
    from clusters
    inner join previous on clusters.record_key = previous.record_key
    group by clusters.cluster_key, previous.customer_id
),

{#- an old id goes to the cluster holding most of its records -#}
winners as (
    select cluster_key, customer_id, customer_created_at
    from (
        select
            claims.*,
            row_number() over (
                partition by customer_id order by records_held desc, cluster_key
            ) as claim_rank
        from claims
    ) as ranked
    where claim_rank = 1
),

{#- a cluster that won several old ids keeps the oldest -#}
kept as (
    select cluster_key, customer_id, customer_created_at
    from (
        select
            winners.*,
            row_number() over (
                partition by cluster_key order by customer_created_at, customer_id
            ) as age_rank
        from winners
    ) as ranked
    where age_rank = 1
),

{#- a new id is named after the cluster and the build that created it, so an id is never
    reused for another customer -#}
assigned as (
    select
        clusters.*,
        coalesce(
            kept.customer_id,
            {{ dbt.concat(["'CUS-'", "substr(" ~ dbt.hash(dbt.concat([
                "clusters.cluster_key", "'@'", "'" ~ run_started_at.isoformat() ~ "'"]) if last_build is not none
                else "clusters.cluster_key") ~ ", 1, 16)"]) }}
        ) as customer_id,
        coalesce(
            kept.customer_created_at,
            cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
        ) as customer_created_at
    from clusters
    left join kept on clusters.cluster_key = kept.cluster_key
),

final as (
    select
        assigned.system,
        assigned.entity,
        assigned.source_id,
        assigned.record_key,
        assigned.customer_id,
        assigned.cluster_key as customer_anchor_key,
        assigned.matched_on,
        assigned.customer_created_at,
        previous.customer_id as previous_customer_id
    from assigned
    left join previous on assigned.record_key = previous.record_key
)

select * from final

{#- The links clustering follows: scored pairs at or above the match threshold with no
    constraint against them, business records sharing a tax id, records of one group (a CRM
    account and its contacts), and the manual overrides, which always win (a forced match is a
    link, a forced non-match removes the pair's scored or tax id link).
    Guard against over-merging through weak chains: where a source keeps one record per
    customer, a record links only to its best-scoring record of that source, and only if it is
    that record's best of its own source too (mutual best), so one ambiguous record cannot
    bridge two customers. Grouped records count as one source per system here: a record links
    into one group (CRM account) of a system at most. One row per (record_key, linked_record_key). -#}
with records as {{ inlined_cte() }} (select * from {{ ref('int_identity__record_features') }}),
scores as (select * from {{ ref('int_identity__pair_scores') }}),
overrides as (select * from {{ ref('identity_overrides') }}),

{% set deduplicated = "(" ~ dbt.concat(['{side}.system', "':'", '{side}.entity']) ~ " in ('"
    ~ deduplicated_sources() | join("', '") ~ "'))" %}

forced_apart as (
    select record_key, other_record_key from overrides where decision = 'non_match'
    union all
    select other_record_key, record_key from overrides where decision = 'non_match'
),

{#- the pairs no constraint or forced non-match keeps apart -#}
allowed as (
    select scores.*
    from scores
    where not scores.has_conflict
        and not exists (
            select 1 from forced_apart
            where forced_apart.record_key = scores.record_key_l
                and forced_apart.other_record_key = scores.record_key_r
        )
),

accepted as (
    select record_key_l, record_key_r, match_probability
    from allowed
    where match_probability >= {{ var('identity_match_threshold') }}
),

{#- both directions, with the system and entity of each end -#}
directed as (
    select accepted.record_key_l as record_key, accepted.record_key_r as linked_record_key,
        accepted.match_probability
    from accepted
    union all
    select accepted.record_key_r, accepted.record_key_l, accepted.match_probability
    from accepted
),

ranked as (
    select
        directed.*,
        {{ deduplicated.replace('{side}', 'other') }} or other.group_key is not null
            as is_deduplicated_target,
        row_number() over (
            partition by directed.record_key, other.system,
                case when other.group_key is not null then '' else other.entity end
            order by directed.match_probability desc, directed.linked_record_key
        ) as rank_in_target_source
    from directed
    inner join records as other on directed.linked_record_key = other.record_key
),

mutual_best as (
    select forward.record_key, forward.linked_record_key, forward.match_probability
    from ranked as forward
    inner join ranked as backward
        on forward.record_key = backward.linked_record_key
        and forward.linked_record_key = backward.record_key
    where forward.record_key < forward.linked_record_key
        and (not forward.is_deduplicated_target or forward.rank_in_target_source = 1)
        and (not backward.is_deduplicated_target or backward.rank_in_target_source = 1)
),

{#- A tax id is a legal identifier: two business records sharing one are one legal entity,
    however few businesses there are to estimate its weight from -#}
tax_id_links as (
    select allowed.record_key_l as record_key, allowed.record_key_r as linked_record_key
    from allowed
    where allowed.is_business and allowed.gamma_tax_id = 1
        and not exists (
            select 1 from mutual_best
            where mutual_best.record_key = allowed.record_key_l
                and mutual_best.linked_record_key = allowed.record_key_r
        )
),

{#- records of one group, as a star on the group's smallest record_key -#}
group_links as (
    select record_key, min(record_key) over (partition by group_key) as linked_record_key
    from records
    where group_key is not null
),

final as (
    select record_key, linked_record_key, 'probabilistic' as match_rule, match_probability
    from mutual_best
    union all
    select record_key, linked_record_key, 'tax_id', cast(null as double)
    from tax_id_links
    union all
    select record_key, linked_record_key, 'group', cast(null as double)
    from group_links
    where record_key <> linked_record_key
    union all
    select overrides.record_key, overrides.other_record_key, 'override', cast(null as double)
    from overrides
    inner join records as existing on overrides.record_key = existing.record_key
    inner join records as other on overrides.other_record_key = other.record_key
    where overrides.decision = 'match'
)

select * from final

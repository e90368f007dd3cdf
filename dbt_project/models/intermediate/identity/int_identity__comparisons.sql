{#- Every candidate pair's comparison vector, with the term frequencies that adjust the weight of
    an exact agreement (two records sharing a rare name say more than two sharing a common one;
    a mailbox shared by a whole household says less than a personal one) and the constraints
    that forbid a direct link whatever the score. Incremental: the pairs made since its last
    build are compared (term frequencies as of this build).
    One row per candidate pair (record_key_l, record_key_r). -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['record_key_l', 'record_key_r'],
    post_hook="{{ delete_rows_gone_upstream(ref('int_identity__candidate_pairs'), ['record_key_l', 'record_key_r']) }}",
) }}
with pairs as (
    select * from {{ ref('int_identity__candidate_pairs') }}
    {% if is_incremental() %}where {{ resolved_since_last_build('resolved_at') }}{% endif %}
),
features as {{ inlined_cte() }} (select * from {{ ref('int_identity__record_features') }}),

{% set tf_columns = {
    'name': 'name_std', 'email': 'email_key', 'phone': 'phone', 'tax_id': 'tax_id',
    'company_name': 'company_key',
} %}
{% for comparison, column in tf_columns.items() %}
{{ comparison }}_frequencies as (
    select
        {{ column }} as value,
        count(*) * 1.0 / sum(count(*)) over () as term_frequency
    from features
    where {{ column }} is not null
    group by {{ column }}
),
{% endfor %}

compared as (
    select
        pairs.record_key_l,
        pairs.record_key_r,
        pairs.blocking_rule,
        l.is_business,
        {{ comparison_vector('l', 'r') }},
        {% for comparison, column in tf_columns.items() %}
        {{ comparison }}_frequencies.term_frequency as tf_{{ comparison }},
        {% endfor %}
        coalesce(l.tax_id <> r.tax_id, false) as has_other_tax_id,
        coalesce(l.group_key <> r.group_key, false) as has_other_group,
        l.system = r.system and l.entity = r.entity
            and {{ dbt.concat(['l.system', "':'", 'l.entity']) }} in (
                {%- for source in deduplicated_sources() %}
                '{{ source }}'{% if not loop.last %}, {% endif %}
                {%- endfor %}) as is_same_deduplicated_source
    from pairs
    inner join features as l on pairs.record_key_l = l.record_key
    inner join features as r on pairs.record_key_r = r.record_key
    {{ name_similarities('l', 'r') }}
    {% for comparison, column in tf_columns.items() %}
    left join {{ comparison }}_frequencies on l.{{ column }} = {{ comparison }}_frequencies.value
    {% endfor %}
),

final as (
    select
        compared.*,
        {#- Two different tax ids are two legal entities; records of two groups (contacts of
            two CRM accounts) belong to two customers; a source that keeps one record per customer never holds two of
            one; two persons whose given names differ (nicknames and transliterations mapped,
            typos within the similarity threshold: name levels 0 and 2) are two people however
            much contact data they share: a household, or colleagues behind one mailbox. -#}
        (has_other_tax_id or has_other_group or is_same_deduplicated_source
            or coalesce(gamma_name in (0, 2), false)) as has_conflict,
        {{ resolved_at() }} as resolved_at
    from compared
)

select * from final

{#- Every candidate pair scored: a match weight per comparison, log2(m / u), where an exact
    agreement on a name, email or phone takes the value's term frequency as its u; the total
    match weight (prior log-odds plus the comparisons' weights) and the match probability. An m
    of 0 counts as 0.001: no single disagreement weighs more than about ten bits.
    The evidence behind each link (`cdw identity explain`). Incremental: the pairs compared since
    its last build are scored (resolved_at is their comparison's), and every pair once the
    parameters were estimated again (scored_at is the build that scored it).
    One row per candidate pair. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['record_key_l', 'record_key_r'],
    post_hook="{{ delete_rows_gone_upstream(ref('int_identity__comparisons'), ['record_key_l', 'record_key_r']) }}",
) }}
with parameters as (select * from {{ ref('int_identity__match_parameters') }}),
comparisons as (
    select * from {{ ref('int_identity__comparisons') }}
    {% if is_incremental() %}
    where {{ resolved_since_last_build('resolved_at') }}
        or {{ resolved_since_last_build('(select max(trained_at) from parameters)', own='scored_at') }}
    {% endif %}
),

{%- set comparisons = identity_comparisons() %}
{%- set tf_levels = {'name': [4], 'email': [2, 1], 'phone': [1], 'tax_id': [1], 'company_name': [2]} %}

prior as (
    select
        max(log(2, person_prior_match_probability / (1 - person_prior_match_probability)))
            as person_prior_weight,
        max(log(2, business_prior_match_probability / (1 - business_prior_match_probability)))
            as business_prior_weight
    from parameters
),

{%- set prior_weight -%}
    case when weighted.is_business then prior.business_prior_weight else prior.person_prior_weight end
{%- endset %}

weighted as (
    select
        comparisons.*,
        {% for comparison in comparisons %}
        {%- set u -%}
            {%- if comparison in tf_levels -%}
            case when p_{{ comparison }}.is_estimated
                    and comparisons.gamma_{{ comparison }} in ({{ tf_levels[comparison] | join(', ') }})
                then greatest(comparisons.tf_{{ comparison }}, 1e-7) else p_{{ comparison }}.u_probability end
            {%- else -%}p_{{ comparison }}.u_probability{%- endif -%}
        {%- endset %}
        coalesce(log(2, greatest(p_{{ comparison }}.m_probability, 1e-3) / {{ u }}), 0)
            as weight_{{ comparison }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from comparisons
    {% for comparison in comparisons %}
    left join parameters as p_{{ comparison }}
        on p_{{ comparison }}.comparison = '{{ comparison }}'
        and comparisons.gamma_{{ comparison }} = p_{{ comparison }}.level
    {% endfor %}
),

final as (
    select
        weighted.*,
        {{ prior_weight }}
        {% for comparison in comparisons %} + weighted.weight_{{ comparison }}{% endfor %}
            as match_weight,
        1.0 / (1.0 + power(2.0, -({{ prior_weight }}
        {% for comparison in comparisons %} + weighted.weight_{{ comparison }}{% endfor %})))
            as match_probability,
        {{ resolved_at() }} as scored_at
    from weighted
    cross join prior
)

select * from final

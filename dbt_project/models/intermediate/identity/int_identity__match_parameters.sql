{#- The Fellegi-Sunter parameters, estimated from the data on every build (as Splink does):
    - u (agreement by chance): the level shares among pseudo-random pairs of records
      (int_identity__u_probabilities);
    - m (agreement among true matches): expectation-maximisation with u held fixed over the
      comparison patterns of the candidate pairs (int_identity__comparison_patterns), in
      training sessions each over the patterns agreeing on one strong key (email, full name,
      tax id, company name) and leaving that key's own comparison out, since it agrees by
      construction there; a comparison's m is the mean of the sessions that estimate it;
    - the priors: the share of all pairs of persons (of businesses) that match, from the
      email (tax id) session's matches scaled up by the share of all matches that share an
      email (tax id), its m from the name (company name) session.
    Below var identity_min_training_records person records the estimates are noise: the
    identity_default_parameters seed is used instead, and term frequencies are not.
    Estimated on a full resolution and again when the records have grown or shrunk by var
    identity_retrain_growth; in between, the last build's parameters are kept
    (match_parameters_need_training), so a day's records cost no training.
    One row per (comparison, level). -#}
{#- the unrolled EM iterations make one deep query (deep_query_hooks) -#}
{{ config(pre_hook=deep_query_hooks()) }}
{%- set previous_parameters = previous_build('trained_at') %}
{%- if not match_parameters_need_training(previous_parameters, ref('int_identity__record_features')) %}
select * from {{ previous_parameters }}
{%- else %}
with features as {{ inlined_cte() }} (select * from {{ ref('int_identity__record_features') }}),
u as (select * from {{ ref('int_identity__u_probabilities') }}),
patterns as (select * from {{ ref('int_identity__comparison_patterns') }}),
pattern_levels as (select * from {{ ref('int_identity__comparison_pattern_levels') }}),

all_levels as (
    select comparison, level, top_level from u
),

{%- set sessions = {
    'email': {'agree': 'gamma_email >= 1', 'recall_levels': [1, 2]},
    'name': {'agree': 'gamma_name = 4', 'recall_levels': [4]},
    'tax_id': {'agree': 'gamma_tax_id = 1', 'recall_levels': [1]},
    'company_name': {'agree': 'gamma_company_name = 2', 'recall_levels': [2]},
} %}

{#- start: the top level likely among matches, the others sharing the rest -#}
m_start as (
    select
        comparison,
        level,
        case when level = top_level then 0.9 else 0.1 / top_level end as m_probability
    from all_levels
),

{% for session, rule in sessions.items() %}
{{ session }}_patterns as (
    select * from patterns where {{ rule.agree }}
),
{{ session }}_levels as (
    select pattern_levels.*
    from pattern_levels
    inner join {{ session }}_patterns on pattern_levels.pattern_id = {{ session }}_patterns.pattern_id
    where pattern_levels.comparison <> '{{ session }}'
),
{{ em_iterations(session, session ~ '_patterns', session ~ '_levels', 'u', 'm_start', var('identity_em_iterations')) }},
{% endfor %}

session_m as (
    {% for session in sessions %}
    select '{{ session }}' as session, all_levels.comparison, all_levels.level,
        coalesce({{ session }}_m.m_probability, 0.0) as m_probability
    from all_levels
    left join {{ session }}_m
        on all_levels.comparison = {{ session }}_m.comparison and all_levels.level = {{ session }}_m.level
    where all_levels.comparison in (select comparison from {{ session }}_m)
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

m as (
    select comparison, level, avg(m_probability) as m_probability
    from session_m
    group by comparison, level
),

{#- The prior, for persons and businesses apart (they are only compared among themselves):
    matches among all pairs, estimated as the matches of one training session over the share of
    all matches that session's key finds (its m from another session). -#}
{% set priors = {
    'person': {'session': 'email', 'recall_from': 'name', 'is_business': 'false'},
    'business': {'session': 'tax_id', 'recall_from': 'company_name', 'is_business': 'true'},
} %}
prior as (
    select
        {% for population, rule in priors.items() %}
        least(
            {{ rule.session }}_share.match_share * {{ rule.session }}_pairs.pair_count
                / nullif({{ rule.session }}_recall.recall, 0)
                / nullif({{ population }}_records.records * ({{ population }}_records.records - 1) / 2.0, 0),
            0.5
        ) as {{ population }}_prior_match_probability{% if not loop.last %},{% endif %}
        {% endfor %}
    from
        {% for population, rule in priors.items() %}
        {{ rule.session }}_share
        cross join (select sum(pair_count) as pair_count from {{ rule.session }}_patterns) as {{ rule.session }}_pairs
        cross join (
            select sum(m_probability) as recall from {{ rule.recall_from }}_m
            where comparison = '{{ rule.session }}'
                and level in ({{ sessions[rule.session].recall_levels | join(', ') }})
        ) as {{ rule.session }}_recall
        cross join (
            select count(*) as records from features where is_business = {{ rule.is_business }}
        ) as {{ population }}_records
        {% if not loop.last %}cross join{% endif %}
        {% endfor %}
),

estimated as (
    select
        u.comparison,
        u.level,
        coalesce(m.m_probability, 0.0) as m_probability,
        u.u_probability,
        prior.person_prior_match_probability,
        prior.business_prior_match_probability
    from u
    left join m on u.comparison = m.comparison and u.level = m.level
    cross join prior
),

{#- Too few records to estimate from (a new deployment, a test world): the parameters of the
    identity_default_parameters seed, the priors scaled to this population. -#}
population as (
    select
        sum(case when is_business then 0 else 1 end) as persons,
        sum(case when is_business then 1 else 0 end) as businesses
    from features
),

defaults as (
    select
        defaults.comparison,
        defaults.level,
        defaults.m_probability,
        defaults.u_probability,
        least(defaults.person_matches_per_record / greatest(population.persons - 1, 1), 0.5)
            as person_prior_match_probability,
        least(defaults.business_matches_per_record / greatest(population.businesses - 1, 1), 0.5)
            as business_prior_match_probability
    from {{ ref('identity_default_parameters') }} as defaults
    cross join population
),

chosen as (
    select estimated.*, true as is_estimated
    from estimated
    cross join population
    where population.persons >= {{ var('identity_min_training_records') }}
    union all
    select defaults.*, false as is_estimated
    from defaults
    cross join population
    where population.persons < {{ var('identity_min_training_records') }}
),

final as (
    select
        chosen.*,
        population.persons + population.businesses as trained_records,
        {{ resolved_at() }} as trained_at
    from chosen
    cross join population
)

select * from final
{%- endif %}

{#- The u probabilities of the Fellegi-Sunter model (agreement by chance): the level shares among
    pseudo-random pairs of records, read by int_identity__match_parameters when it trains.
    One row per (comparison, level), every level of every comparison.
    A table on Spark, which inlines a CTE wherever it is read: as a CTE of match_parameters the
    random pairs were planned again in every EM iteration of every training session, and the
    plan filled the driver heap. Ephemeral on DuckDB (a CTE of match_parameters), so a build
    that keeps the last parameters does not draw the random pairs. -#}
{{ config(materialized=em_input_materialization()) }}
with features as (select * from {{ ref('int_identity__record_features') }}),

{%- set comparisons = identity_comparisons() %}

shuffled as (
    select
        features.*,
        row_number() over (order by {{ dbt.hash('record_key') }}) - 1 as position,
        count(*) over () as record_count
    from features
),

{#- Each record against records at fixed fractions of the shuffled order away: as good as random
    pairs, reproducible, and linear in the records; at most var identity_u_sample_pairs of them
    (the first records of the shuffled order: a random subset). The records are paired with
    all their partners in one join (six joins, one per fraction, built six hash tables of the
    records). -#}
{%- set offsets = [0.13, 0.29, 0.41, 0.53, 0.67, 0.79] %}
partnered as (
    {% for offset in offsets %}
    select shuffled.*,
        mod(position + cast(floor(record_count * {{ offset }}) as bigint) + 1, record_count) as partner_position
    from shuffled
    where position < {{ (var('identity_u_sample_pairs') / offsets | length) | int }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

random_pairs as (
    select {{ comparison_vector('l', 'r') }}
    from partnered as l
    inner join shuffled as r on r.position = l.partner_position
    {{ name_similarities('l', 'r') }}
),

all_levels as (
    {% for comparison, top in comparisons.items() %}
    {% for level in range(top + 1) %}
    select '{{ comparison }}' as comparison, {{ level }} as level, {{ top }} as top_level
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

{#- each pair's level of every comparison, in one read of random_pairs: Spark inlines a CTE
    wherever it is read, and one read per comparison planned the name similarities once per
    comparison (most of this model's time on Spark, on any data) -#}
pair_levels as (
    select
        compared.comparison,
        case compared.comparison
            {%- for comparison in comparisons %}
            when '{{ comparison }}' then random_pairs.gamma_{{ comparison }}
            {%- endfor %}
        end as level
    from random_pairs
    cross join (
        values {% for comparison in comparisons %}('{{ comparison }}'){% if not loop.last %}, {% endif %}{% endfor %}
    ) as compared (comparison)
),

random_levels as (
    select comparison, level from pair_levels where level is not null
),

final as (
    {#- add-one smoothing: a level never seen among random pairs is rare, not impossible -#}
    select
        all_levels.comparison,
        all_levels.level,
        all_levels.top_level,
        (count(random_levels.level) + 1.0)
            / (sum(count(random_levels.level)) over (partition by all_levels.comparison)
               + all_levels.top_level + 1) as u_probability
    from all_levels
    left join random_levels
        on all_levels.comparison = random_levels.comparison and all_levels.level = random_levels.level
    group by all_levels.comparison, all_levels.level, all_levels.top_level
)

select * from final

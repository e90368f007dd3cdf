{#- The distinct comparison vectors (patterns) of the candidate pairs that may link (no
    conflict), with how many pairs have each: what the EM of int_identity__match_parameters
    iterates over. One row per pattern.
    A table on Spark, ephemeral on DuckDB: see int_identity__u_probabilities. -#}
{{ config(materialized=em_input_materialization()) }}
with comparisons as (select * from {{ ref('int_identity__comparisons') }}),

{%- set gammas %}{% for comparison in identity_comparisons() %}gamma_{{ comparison }}{% if not loop.last %}, {% endif %}{% endfor %}{% endset %}

patterns as (
    select {{ gammas }}, count(*) as pair_count
    from comparisons
    where not has_conflict
    group by {{ gammas }}
),

final as (
    select
        row_number() over (order by {{ gammas }}) as pattern_id,
        patterns.*
    from patterns
)

select * from final
